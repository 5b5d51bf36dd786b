#include "rdma/smbd_reassembly.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::rdma;
using result = fragment_reassembly::result;

TEST(smbd_reassembly, single_fragment_message) {
    fragment_reassembly r(1000);
    bytes a = {1, 2, 3};
    EXPECT_EQ(r.add(a, 0), result::complete);
    EXPECT_EQ(r.take(), a);
    EXPECT_FALSE(r.in_progress());
}

TEST(smbd_reassembly, fragments_in_order) {
    fragment_reassembly r(1000);
    bytes a = {1, 2, 3}, b = {4, 5}, c = {6};
    EXPECT_EQ(r.add(a, 3), result::incomplete);
    EXPECT_TRUE(r.in_progress());
    EXPECT_EQ(r.add(b, 1), result::incomplete);
    EXPECT_EQ(r.add(c, 0), result::complete);
    EXPECT_EQ(r.take(), (bytes{1, 2, 3, 4, 5, 6}));
    // The next message starts afresh.
    EXPECT_EQ(r.add(b, 0), result::complete);
    EXPECT_EQ(r.take(), b);
}

TEST(smbd_reassembly, limit_counts_data_and_remaining) {
    fragment_reassembly r(10);
    bytes a(4, 0);
    EXPECT_EQ(r.add(a, 7), result::too_large);
    EXPECT_EQ(r.add(a, 6), result::incomplete);
    fragment_reassembly huge(10);
    EXPECT_EQ(huge.add(a, 0xFFFFFFFFu), result::too_large);
}

TEST(smbd_reassembly, remaining_must_continue_the_message) {
    fragment_reassembly r(100);
    bytes a(4, 0);
    EXPECT_EQ(r.add(a, 10), result::incomplete);
    EXPECT_EQ(r.add(a, 7), result::inconsistent); // 10 - 4 = 6 expected
    fragment_reassembly s(100);
    EXPECT_EQ(s.add(a, 2), result::incomplete);
    EXPECT_EQ(s.add(a, 0), result::inconsistent); // 4 bytes where 2 remained
}
