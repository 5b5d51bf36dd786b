#include "dataplane/smb2/create_contexts.hh"

#include <gtest/gtest.h>

using namespace smbx;

namespace {

// One SMB2_CREATE_CONTEXT (2.2.13.2): header, 4-byte name padded to 8, then data.
void put_context(byte_writer& w, const char* tag, const bytes& data, bool last) {
    size_t start = w.size();
    size_t next_at = w.reserve(4);
    w.u16(16); // NameOffset
    w.u16(4);  // NameLength
    w.u16(0);  // Reserved
    w.u16(data.empty() ? 0 : 24);
    w.u32(uint32_t(data.size()));
    w.put(tag, 4);
    w.zeros(4);
    w.put(data.data(), data.size());
    w.align(8);
    if (!last) {
        w.patch_u32(next_at, uint32_t(w.size() - start));
    }
}

} // namespace

TEST(create_contexts, a_chain_parses_into_its_names_and_data) {
    byte_writer w;
    put_context(w, "MxAc", {}, false);
    put_context(w, "AlSi", bytes(8, 7), true);
    bytes buf = w.take();
    auto parsed = smb2::parse_create_contexts(buf);
    ASSERT_TRUE(parsed);
    ASSERT_EQ(parsed->size(), 2u);
    EXPECT_TRUE((*parsed)[0].is("MxAc"));
    EXPECT_TRUE((*parsed)[0].data.empty());
    EXPECT_TRUE((*parsed)[1].is("AlSi"));
    EXPECT_EQ(bytes((*parsed)[1].data.begin(), (*parsed)[1].data.end()), bytes(8, 7));
}

TEST(create_contexts, malformed_chains_are_refused) {
    byte_writer w;
    put_context(w, "QFid", {}, false); // Next set, but nothing follows
    bytes dangling = w.take();
    EXPECT_FALSE(smb2::parse_create_contexts(dangling));

    byte_writer shortname;
    put_context(shortname, "ExtA", bytes(4, 1), true);
    bytes b = shortname.take();
    b[6] = 3; // NameLength 3: shorter than any tag
    EXPECT_FALSE(smb2::parse_create_contexts(b));

    byte_writer past;
    put_context(past, "SecD", bytes(8, 1), true);
    bytes p = past.take();
    p[12] = 200; // DataLength past the buffer
    EXPECT_FALSE(smb2::parse_create_contexts(p));

    byte_writer unaligned;
    put_context(unaligned, "MxAc", {}, false);
    put_context(unaligned, "QFid", {}, true);
    bytes u = unaligned.take();
    u[0] = 20; // Next not a multiple of 8
    EXPECT_FALSE(smb2::parse_create_contexts(u));
}
