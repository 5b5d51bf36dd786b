// FSCTL_QUERY_NETWORK_INTERFACE_INFO's payload (MS-SMB2 2.2.32.5): entries chained by
// Next, capability bits, link speed and an IPv4 SOCKADDR_STORAGE; and the lookup of the
// interfaces behind the listening addresses.
#include "dataplane/smb2/network_interfaces.hh"

#include <arpa/inet.h>
#include <net/if.h>

#include <gtest/gtest.h>

namespace smbx::smb2 {
namespace {

uint32_t ipv4(const char* text) {
    in_addr a{};
    EXPECT_EQ(inet_pton(AF_INET, text, &a), 1);
    return a.s_addr;
}

TEST(network_interfaces, entries_are_chained_with_capabilities_speed_and_address) {
    std::vector<network_interface> list{{7, ipv4("10.99.0.1"), 100000000000ULL, true, false},
                                        {9, ipv4("192.168.1.2"), 0, false, true}};
    bytes out = encode_network_interfaces(list);
    ASSERT_EQ(out.size(), 2 * network_interface_info_size);
    byte_reader r(out);
    EXPECT_EQ(r.u32(), 152u) << "Next of the first entry";
    EXPECT_EQ(r.u32(), 7u);
    EXPECT_EQ(r.u32(), 2u) << "RDMA_CAPABLE";
    EXPECT_EQ(r.u32(), 0u);
    EXPECT_EQ(r.u64(), 100000000000ULL);
    EXPECT_EQ(r.u16(), 2u) << "InterNetwork";
    EXPECT_EQ(r.u16(), 0u) << "Port";
    EXPECT_EQ(r.u8(), 10);
    EXPECT_EQ(r.u8(), 99);
    EXPECT_EQ(r.u8(), 0);
    EXPECT_EQ(r.u8(), 1);
    r.seek(network_interface_info_size);
    EXPECT_EQ(r.u32(), 0u) << "the last entry ends the chain";
    EXPECT_EQ(r.u32(), 9u);
    EXPECT_EQ(r.u32(), 1u) << "RSS_CAPABLE";
    EXPECT_TRUE(encode_network_interfaces({}).empty());
}

TEST(network_interfaces, loopback_is_found_by_address_and_rdma_marks_follow_the_list) {
    auto lo = describe_addresses({ipv4("127.0.0.1")}, {});
    ASSERT_EQ(lo.size(), 1u);
    EXPECT_EQ(lo[0].if_index, if_nametoindex("lo"));
    EXPECT_EQ(lo[0].ipv4, ipv4("127.0.0.1"));
    EXPECT_FALSE(lo[0].rdma_capable);
    auto rdma = describe_addresses({ipv4("127.0.0.1")}, {ipv4("127.0.0.1")});
    ASSERT_EQ(rdma.size(), 1u);
    EXPECT_TRUE(rdma[0].rdma_capable);
    // 0.0.0.0 means every address but loopback; an unknown address finds nothing.
    for (const auto& n : describe_addresses({0}, {})) {
        EXPECT_NE(n.ipv4, ipv4("127.0.0.1"));
    }
    EXPECT_TRUE(describe_addresses({ipv4("203.0.113.77")}, {}).empty());
}

TEST(network_interfaces, rss_capable_follows_the_caller) {
    auto one = describe_addresses({ipv4("127.0.0.1")}, {});
    ASSERT_EQ(one.size(), 1u);
    EXPECT_FALSE(one[0].rss_capable);
    auto many = describe_addresses({ipv4("127.0.0.1")}, {}, true);
    ASSERT_EQ(many.size(), 1u);
    EXPECT_TRUE(many[0].rss_capable);
}

} // namespace
} // namespace smbx::smb2
