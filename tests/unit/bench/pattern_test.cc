// smbx-bench's --verify pattern: a function of (offset, seed), any alignment.
#include "bench/smbx_bench/pattern.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::bench;

TEST(pattern, depends_on_offset_and_seed_only) {
    bytes a(4096), b(4096), c(4096), d(4096);
    fill_pattern(a, 8192, 1);
    fill_pattern(b, 8192, 1);
    fill_pattern(c, 8192, 2);
    fill_pattern(d, 4096, 1);
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_NE(a, d);
}

TEST(pattern, unaligned_pieces_match_the_whole) {
    bytes whole(100);
    fill_pattern(whole, 1000, 7);
    bytes part(37);
    fill_pattern(part, 1013, 7);
    EXPECT_TRUE(std::equal(part.begin(), part.end(), whole.begin() + 13));
    EXPECT_FALSE(find_mismatch(byte_span(whole).subspan(3, 90), 1003, 7));
}

TEST(pattern, mismatch_reports_the_first_bad_offset) {
    bytes buf(65536);
    fill_pattern(buf, 1 << 20, 42);
    EXPECT_FALSE(find_mismatch(buf, 1 << 20, 42));
    buf[12345] ^= 1;
    buf[20000] ^= 1;
    auto bad = find_mismatch(buf, 1 << 20, 42);
    ASSERT_TRUE(bad);
    EXPECT_EQ(*bad, (1u << 20) + 12345);
    // The right data at the wrong offset (a misdirected read) is caught too.
    bytes other(4096);
    fill_pattern(other, 0, 42);
    EXPECT_EQ(find_mismatch(other, 4096, 42), 4096u);
}
