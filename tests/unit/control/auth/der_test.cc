#include "control/auth/der.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::auth;

TEST(der, short_and_long_lengths_round_trip) {
    for (size_t n : {0, 1, 127, 128, 255, 256, 70000}) {
        bytes content(n, 0xab);
        bytes enc = der::encode(der::tag_octet_string, content);
        size_t header = n < 128 ? 2 : n < 256 ? 3 : n < 65536 ? 4 : 5;
        EXPECT_EQ(enc.size(), n + header);
        der::reader r(enc);
        auto e = r.expect(der::tag_octet_string);
        ASSERT_TRUE(e) << n;
        EXPECT_EQ(bytes(e->content.begin(), e->content.end()), content);
        EXPECT_EQ(e->encoding.size(), enc.size());
        EXPECT_TRUE(r.at_end());
        EXPECT_TRUE(r.ok());
    }
}

TEST(der, rejects_malformed_lengths) {
    const bytes cases[] = {
        {0x04},                               // no length
        {0x04, 0x05, 1, 2},                   // length past the end
        {0x04, 0x80, 0x00, 0x00},             // indefinite length
        {0x04, 0x85, 1, 0, 0, 0, 0},          // five length octets
        {0x04, 0x84, 0xff, 0xff, 0xff, 0xff}, // 4 GiB
        {0x04, 0x82, 0x01},                   // truncated long length
        {0x1f, 0x01, 0x00},                   // multi-byte tag
    };
    for (const auto& c : cases) {
        der::reader r(c);
        EXPECT_FALSE(r.next());
        EXPECT_FALSE(r.ok());
    }
}

TEST(der, expect_and_optional) {
    bytes enc = der::encode(der::tag_oid, bytes{1, 2});
    der::put(enc, der::tag_octet_string, bytes{3});
    der::reader r(enc);
    EXPECT_FALSE(r.optional(der::tag_octet_string));
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.optional(der::tag_oid));
    EXPECT_TRUE(r.expect(der::tag_octet_string));
    EXPECT_TRUE(r.at_end());

    der::reader wrong(enc);
    EXPECT_FALSE(wrong.expect(der::tag_sequence));
    EXPECT_FALSE(wrong.ok());
}

TEST(der, nesting_depth_is_bounded) {
    bytes enc = der::encode(der::tag_octet_string, bytes{0});
    for (unsigned i = 0; i < der::max_depth + 4; ++i) {
        enc = der::encode(der::tag_sequence, enc);
    }
    der::reader r(enc);
    unsigned depth = 0;
    bool reached_leaf = false;
    while (r.ok()) {
        auto e = r.next();
        if (!e) {
            break;
        }
        if (e->tag == der::tag_octet_string) {
            reached_leaf = true;
            break;
        }
        r = r.enter(*e);
        ++depth;
    }
    EXPECT_FALSE(reached_leaf);
    EXPECT_EQ(depth, der::max_depth + 1);
}

TEST(der, entering_a_primitive_fails) {
    bytes enc = der::encode(der::tag_octet_string, der::encode(der::tag_oid, bytes{1}));
    der::reader r(enc);
    auto e = r.next();
    ASSERT_TRUE(e);
    der::reader inner = r.enter(*e);
    EXPECT_FALSE(inner.ok());
    EXPECT_FALSE(inner.next());
}
