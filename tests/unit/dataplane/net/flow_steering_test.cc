// Which worker owns a received frame: every TCP segment of a flow goes to the same
// worker whichever queue it arrived on; everything else stays where it arrived.
#include "dataplane/net/flow_steering.hh"

#include <set>

#include "tests/unit/dataplane/net/net_test_util.hh"

using namespace smbx;
using namespace smbx::net;
using namespace smbx::net::test;

namespace {

flow_key key_of(const scripted_peer& p) {
    flow_key k;
    k.local_ip = p.stack_ip;
    k.remote_ip = p.ip;
    k.local_port = p.stack_port;
    k.remote_port = p.port;
    return k;
}

TEST(flow_steering, every_segment_of_a_flow_has_the_flow_owner) {
    scripted_peer peer;
    for (size_t workers : {2u, 3u, 8u}) {
        for (uint16_t port = 40000; port < 40064; ++port) {
            peer.port = port;
            size_t owner = flow_owner(key_of(peer), workers);
            ASSERT_LT(owner, workers);
            EXPECT_EQ(segment_owner(peer.tcp(tcp_flag::syn, 1, 0), workers), owner);
            EXPECT_EQ(segment_owner(peer.tcp(tcp_flag::ack, 2, 9, pattern(1000, port)), workers),
                      owner);
            EXPECT_EQ(segment_owner(peer.tcp(tcp_flag::fin | tcp_flag::ack, 3, 9), workers), owner);
        }
    }
}

TEST(flow_steering, flows_spread_over_all_workers) {
    scripted_peer peer;
    for (size_t workers : {2u, 4u}) {
        std::vector<size_t> per_worker(workers);
        for (uint16_t port = 32768; port < 32768 + 400; ++port) {
            peer.port = port;
            ++per_worker[flow_owner(key_of(peer), workers)];
        }
        for (size_t n : per_worker) {
            // 400 flows: each worker gets a fair share, not all or nothing.
            EXPECT_GT(n, 400 / workers / 2);
        }
    }
    std::set<size_t> owners;
    for (uint8_t host = 2; host < 40; ++host) {
        peer.ip = ip_of(host);
        owners.insert(flow_owner(key_of(peer), 2));
    }
    EXPECT_EQ(owners.size(), 2u); // the address counts too, not only the port
}

TEST(flow_steering, one_worker_owns_everything) {
    scripted_peer peer;
    EXPECT_EQ(flow_owner(key_of(peer), 1), 0u);
    EXPECT_EQ(segment_owner(peer.tcp(tcp_flag::syn, 1, 0), 1), 0u);
}

TEST(flow_steering, other_frames_stay_where_they_arrived) {
    scripted_peer peer;
    EXPECT_FALSE(segment_owner(peer.arp_request(), 2));
    EXPECT_FALSE(segment_owner(peer.ipv4_frame(ip_protocol_icmp, pattern(64, 1)), 2));
    // A fragment (more-fragments set) carries no reliable ports.
    EXPECT_FALSE(segment_owner(peer.ipv4_frame(ip_protocol_tcp, pattern(40, 2), 0x2000), 2));
    // Cut short: no room for the ports, or not even a whole IPv4 header.
    auto syn = peer.tcp(tcp_flag::syn, 1, 0);
    EXPECT_FALSE(segment_owner(std::span(syn).first(14 + 20 + 2), 2));
    EXPECT_FALSE(segment_owner(std::span(syn).first(20), 2));
    EXPECT_FALSE(segment_owner({}, 2));
    // A bad IPv4 header checksum is not trusted for steering either.
    syn[14 + 10] ^= 0xff;
    EXPECT_FALSE(segment_owner(syn, 2));
}

} // namespace
