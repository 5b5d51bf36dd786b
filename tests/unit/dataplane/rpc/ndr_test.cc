#include "dataplane/rpc/ndr.hh"

#include <gtest/gtest.h>

using namespace smbx;

TEST(ndr_writer, aligns_integers_to_their_size) {
    ndr::writer w;
    w.u8(0xAA);
    w.u32(0x11223344);
    w.u8(0xBB);
    w.u16(0x5566);
    w.u64(0x0102030405060708ULL);
    bytes expect = {0xAA, 0, 0, 0, 0x44, 0x33, 0x22, 0x11, 0xBB, 0, 0x66, 0x55,
                    0,    0, 0, 0, 8,    7,    6,    5,    4,    3, 2,    1};
    EXPECT_EQ(w.take(), expect);
}

TEST(ndr_writer, conformant_varying_string_counts_the_nul) {
    ndr::writer w;
    w.wstring("ab");
    bytes expect = {3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 'a', 0, 'b', 0, 0, 0};
    EXPECT_EQ(w.take(), expect);
}

TEST(ndr_writer, null_unique_pointer_is_zero_and_has_no_pointee) {
    ndr::writer w;
    bool called = false;
    w.unique_ptr(false, [&](ndr::writer&) { called = true; });
    w.flush_deferred();
    EXPECT_FALSE(called);
    EXPECT_EQ(w.take(), (bytes{0, 0, 0, 0}));
}

TEST(ndr_writer, pointees_follow_depth_first_after_the_scalars) {
    // struct { A* a; B* b; } with A = { u32; string* } and B = { u32 }:
    // scalars: ref(a) ref(b); then A's scalars, A's string, then B.
    ndr::writer w;
    w.unique_ptr(true, [](ndr::writer& w) {
        w.u32(0xA1);
        w.unique_wstring(std::string("x"));
    });
    w.unique_ptr(true, [](ndr::writer& w) { w.u32(0xB1); });
    w.flush_deferred();
    bytes out = w.take();
    ndr::reader r(out);
    EXPECT_EQ(r.pointer(), ndr::first_referent_id);
    EXPECT_EQ(r.pointer(), ndr::first_referent_id + 4);
    EXPECT_EQ(r.u32(), 0xA1u);
    EXPECT_EQ(r.pointer(), ndr::first_referent_id + 8);
    EXPECT_EQ(r.wstring(), "x");
    EXPECT_EQ(r.u32(), 0xB1u);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
}

TEST(ndr_writer, full_pointer_reuses_referent_and_sends_data_once) {
    ndr::writer w;
    int target = 0;
    int calls = 0;
    auto pointee = [&](ndr::writer& w) {
        ++calls;
        w.u32(7);
    };
    w.full_ptr(&target, pointee);
    w.full_ptr(&target, pointee);
    w.full_ptr(nullptr, pointee);
    w.flush_deferred();
    EXPECT_EQ(calls, 1);
    bytes out = w.take();
    ndr::reader r(out);
    uint32_t a = r.pointer();
    EXPECT_NE(a, 0u);
    EXPECT_EQ(r.pointer(), a);
    EXPECT_EQ(r.pointer(), 0u);
    EXPECT_EQ(r.u32(), 7u);
    EXPECT_EQ(r.remaining(), 0u);
}

TEST(ndr_reader, string_with_offset_or_bad_counts_fails) {
    const uint8_t offset_set[] = {2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'a', 0};
    ndr::reader r1(offset_set);
    EXPECT_FALSE(r1.wstring());
    EXPECT_FALSE(r1.ok());

    const uint8_t actual_over_max[] = {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'a', 0, 0, 0};
    ndr::reader r2(actual_over_max);
    EXPECT_FALSE(r2.wstring());

    const uint8_t truncated[] = {0xFF, 0xFF, 0xFF, 0x7F, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F, 'a'};
    ndr::reader r3(truncated);
    EXPECT_FALSE(r3.wstring());
    EXPECT_FALSE(r3.ok());
}

TEST(ndr_reader, reads_strings_with_and_without_terminator) {
    const uint8_t with_nul[] = {3, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 'h', 0, 'i', 0, 0, 0};
    ndr::reader r1(with_nul);
    EXPECT_EQ(r1.wstring(), "hi");
    const uint8_t without[] = {2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'h', 0, 'i', 0};
    ndr::reader r2(without);
    EXPECT_EQ(r2.wstring(), "hi");
    EXPECT_TRUE(r2.ok());
}

TEST(ndr_reader, null_unique_string_is_not_an_error) {
    const uint8_t null_ptr[] = {0, 0, 0, 0};
    ndr::reader r(null_ptr);
    EXPECT_FALSE(r.unique_wstring());
    EXPECT_TRUE(r.ok());
}

TEST(ndr_reader, alignment_is_relative_to_stub_start) {
    const uint8_t data[] = {1,    0xEE, 2,    0,    9, 0, 0, 0, 3, 0xEE, 0xEE, 0xEE,
                            0xEE, 0xEE, 0xEE, 0xEE, 5, 0, 0, 0, 0, 0,    0,    0};
    ndr::reader r(data);
    EXPECT_EQ(r.u8(), 1);
    EXPECT_EQ(r.u16(), 2);
    EXPECT_EQ(r.u32(), 9u);
    EXPECT_EQ(r.u8(), 3);
    EXPECT_EQ(r.u64(), 5u);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.u32(), 0u); // past the end
    EXPECT_FALSE(r.ok());
}
