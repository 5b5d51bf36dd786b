#include "control/config_dpdk.hh"

#include <gtest/gtest.h>

namespace smbx::config {
namespace {

TEST(config_dpdk, impair_parses_fractions_and_seed_in_any_order) {
    dpdk_config c;
    std::string message;
    ASSERT_EQ(dpdk_param(c, "dpdkimpair", "reorder 0.02 drop 0.01 dup 0.005 seed 99", message),
              param_result::ok)
        << message;
    EXPECT_DOUBLE_EQ(c.impair_drop, 0.01);
    EXPECT_DOUBLE_EQ(c.impair_duplicate, 0.005);
    EXPECT_DOUBLE_EQ(c.impair_reorder, 0.02);
    EXPECT_EQ(c.impair_seed, 99u);
    EXPECT_TRUE(c.impaired());
    // A later line replaces the fractions (a subset leaves the others at zero).
    ASSERT_EQ(dpdk_param(c, "dpdkimpair", "drop 0.1", message), param_result::ok);
    EXPECT_DOUBLE_EQ(c.impair_drop, 0.1);
    EXPECT_EQ(c.impair_duplicate, 0);
    EXPECT_EQ(c.impair_reorder, 0);
    ASSERT_EQ(dpdk_param(c, "dpdkimpair", "", message), param_result::ok);
    EXPECT_FALSE(c.impaired());
}

TEST(config_dpdk, impair_rejects_bad_values) {
    for (const char* bad : {"drop", "drop x", "drop 0.6", "drop -0.1", "drop 0.1x", "loss 0.1",
                            "seed -1", "seed abc", "dup 1e9"}) {
        dpdk_config c;
        std::string message;
        EXPECT_EQ(dpdk_param(c, "dpdkimpair", bad, message), param_result::bad) << bad;
        EXPECT_NE(message.find("'dpdk impair'"), std::string::npos) << message;
    }
}

TEST(config_dpdk, impair_needs_the_dpdk_transport) {
    dpdk_config c;
    std::string message;
    ASSERT_EQ(dpdk_param(c, "dpdkimpair", "drop 0.01", message), param_result::ok);
    EXPECT_NE(check_dpdk(c).find("test mode"), std::string::npos);
    c.transport = transport_kind::dpdk;
    c.args = "--no-pci";
    c.address = "10.0.0.2";
    EXPECT_EQ(check_dpdk(c), "");
    EXPECT_TRUE(is_dpdk_key("dpdkimpair"));
}

} // namespace
} // namespace smbx::config
