#include "common/byte_codec.hh"

#include <gtest/gtest.h>

using namespace smbx;

TEST(byte_reader, reads_little_endian_fields) {
    const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
    byte_reader r(data);
    EXPECT_EQ(r.u8(), 0x01);
    EXPECT_EQ(r.u16(), 0x0302);
    EXPECT_EQ(r.u32(), 0x07060504u);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
}

TEST(byte_reader, read_past_end_is_sticky_failure) {
    const uint8_t data[] = {0xAA, 0xBB, 0xCC};
    byte_reader r(data);
    EXPECT_EQ(r.u32(), 0u);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.u8(), 0u); // still failed, still zero
    EXPECT_FALSE(r.ok());
}

TEST(byte_reader, at_rejects_offsets_outside_the_buffer) {
    const uint8_t data[8] = {};
    byte_reader r(data);
    EXPECT_EQ(r.at(4, 4).size(), 4u);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.at(6, 4).empty());
    EXPECT_FALSE(r.ok());
    byte_reader r2(data);
    EXPECT_TRUE(r2.at(~size_t(0), 2).empty()); // overflow in offset + length
    EXPECT_FALSE(r2.ok());
}

TEST(byte_writer, patches_reserved_fields) {
    byte_writer w;
    auto at = w.reserve(4);
    w.u16(0xBEEF);
    w.patch_u32(at, 0x11223344);
    ASSERT_EQ(w.size(), 6u);
    EXPECT_EQ(w.buffer()[0], 0x44);
    EXPECT_EQ(w.buffer()[3], 0x11);
    EXPECT_EQ(w.buffer()[4], 0xEF);
}

TEST(utf16, round_trips_non_ascii_and_surrogate_pairs) {
    std::string s = "caf\xC3\xA9 \xF0\x9F\x98\x80";
    bytes u = utf16le(s);
    EXPECT_EQ(u.size(), 2u * 5 + 4);
    std::string back;
    ASSERT_TRUE(utf16le_to_utf8(u, back));
    EXPECT_EQ(back, s);
}

TEST(utf16, rejects_unpaired_surrogate_and_odd_length) {
    const uint8_t lone[] = {0x00, 0xD8, 0x41, 0x00};
    std::string out;
    EXPECT_FALSE(utf16le_to_utf8(lone, out));
    const uint8_t odd[] = {0x41, 0x00, 0x42};
    EXPECT_FALSE(utf16le_to_utf8(odd, out));
}

TEST(utf8, bad_and_truncated_sequences_become_replacement_characters) {
    std::string_view s("a\xC3(\xE2\x82", 5);
    size_t i = 0;
    EXPECT_EQ(next_code_point(s, i), U'a');
    EXPECT_EQ(next_code_point(s, i), U'\uFFFD'); // C3 not followed by a continuation byte
    EXPECT_EQ(i, 2u);
    EXPECT_EQ(next_code_point(s, i), U'(');
    EXPECT_EQ(next_code_point(s, i), U'\uFFFD'); // E2 82 is cut short
    EXPECT_EQ(i, s.size());
}
