#include "dataplane/smb2/credit_window.hh"

#include <gtest/gtest.h>

using smbx::smb2::credit_window;

TEST(credit_window, starts_with_message_id_zero_only) {
    credit_window w;
    EXPECT_FALSE(w.consume(1, 1));
    EXPECT_TRUE(w.consume(0, 1));
    EXPECT_FALSE(w.consume(0, 1));
}

TEST(credit_window, ids_may_be_used_out_of_order_but_once) {
    credit_window w;
    ASSERT_TRUE(w.consume(0, 1));
    EXPECT_EQ(w.grant(5), 5); // ids 1..5
    EXPECT_TRUE(w.consume(3, 1));
    EXPECT_TRUE(w.consume(1, 2)); // 1 and 2
    EXPECT_FALSE(w.consume(2, 1));
    EXPECT_TRUE(w.consume(4, 2)); // 4 and 5
    EXPECT_FALSE(w.consume(6, 1));
    EXPECT_EQ(w.available(), 0u);
}

TEST(credit_window, multi_credit_request_must_fit_the_window) {
    credit_window w;
    ASSERT_TRUE(w.consume(0, 1));
    w.grant(4);                    // ids 1..4
    EXPECT_FALSE(w.consume(2, 4)); // would need ids up to 5
    EXPECT_TRUE(w.consume(1, 4));
}

TEST(credit_window, never_grants_beyond_the_cap_and_never_leaves_zero) {
    credit_window w;
    ASSERT_TRUE(w.consume(0, 1));
    EXPECT_EQ(w.grant(0), 1); // nothing outstanding: at least one
    uint64_t total = 1;
    for (int i = 0; i < 10; ++i) {
        total += w.grant(65535);
    }
    EXPECT_EQ(w.available(), credit_window::max_outstanding);
    EXPECT_EQ(total, credit_window::max_outstanding);
}

TEST(credit_window, in_order_after_out_of_order_keeps_every_id_single_use) {
    credit_window w;
    ASSERT_TRUE(w.consume(0, 1));
    ASSERT_EQ(w.grant(8), 8);     // ids 1..8
    EXPECT_TRUE(w.consume(3, 2)); // 3, 4 ahead of 1 and 2
    EXPECT_TRUE(w.consume(1, 2)); // fills the gap: 1..4 used
    EXPECT_FALSE(w.consume(4, 1));
    EXPECT_TRUE(w.consume(5, 1)); // in order again
    EXPECT_FALSE(w.consume(5, 1));
    EXPECT_TRUE(w.consume(6, 3)); // 6..8, multi-credit, in order
    EXPECT_FALSE(w.consume(8, 1));
    EXPECT_FALSE(w.consume(9, 1)); // never granted
    EXPECT_EQ(w.available(), 0u);
}
