// ARP replies and resolution, ICMP echo, and the IPv4 drops (fragments, other hosts,
// bad checksums) with their counters.
#include "tests/unit/dataplane/net/net_test_util.hh"

using namespace smbx;
using namespace smbx::net;
using namespace smbx::net::test;

namespace {

struct ip_layer_test : stack_fixture {
    void SetUp() override {
        now = 1'000'000;
        start_stack();
    }
    std::vector<uint8_t> echo_request(size_t data) {
        byte_writer w;
        w.u8(8);
        w.u8(0);
        w.u16be(0);
        w.u16be(0x1234);
        w.u16be(7);
        auto d = pattern(data, 9);
        w.put(d.data(), d.size());
        uint16_t sum = checksum_of(w.buffer());
        w.buffer()[2] = uint8_t(sum >> 8);
        w.buffer()[3] = uint8_t(sum);
        return w.take();
    }
};

TEST_F(ip_layer_test, answers_arp_requests_for_its_address_only) {
    deliver(peer.arp_request());
    ASSERT_EQ(card.sent.size(), 1u);
    byte_reader r(card.sent[0]);
    auto eth = parse_ethernet(r);
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst, peer.mac);
    EXPECT_EQ(eth->type, ethertype_arp);
    auto a = parse_arp(r);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->op, arp_packet::reply);
    EXPECT_EQ(a->sender_mac, mac_of(1));
    EXPECT_EQ(a->sender_ip, ip_of(1));
    EXPECT_EQ(a->target_ip, peer.ip);
    EXPECT_EQ(card.sent[0].size(), 60u);

    card.sent.clear();
    peer.stack_ip = ip_of(9);
    deliver(peer.arp_request());
    EXPECT_TRUE(card.sent.empty());
}

TEST_F(ip_layer_test, resolves_before_answering_and_then_retransmits) {
    // A SYN from a peer we have no ARP entry for and no prior IP traffic from: the
    // stack asks, and sends the SYN-ACK once the reply arrives.
    peer.mac = mac_of(3);
    deliver(peer.tcp(tcp_flag::syn, 100, 0)); // confirms nothing: no entry exists
    ASSERT_EQ(card.sent.size(), 1u);
    byte_reader r(card.sent[0]);
    auto eth = parse_ethernet(r);
    EXPECT_TRUE(eth->dst.is_broadcast());
    auto a = parse_arp(r);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->op, arp_packet::request);
    EXPECT_EQ(a->target_ip, peer.ip);
    EXPECT_EQ(s->counters().arp_requests_sent, 1u);
    card.sent.clear();

    // The reply (an ARP packet addressed to us) fills the cache; the SYN-ACK follows.
    auto reply = peer.arp_request();
    reply[21] = arp_packet::reply;
    deliver(reply);
    ASSERT_EQ(card.sent.size(), 1u);
    auto seg = parse_segment(card.sent[0]);
    ASSERT_TRUE(seg);
    EXPECT_EQ(seg->tcp.flags, tcp_flag::syn | tcp_flag::ack);
}

TEST_F(ip_layer_test, answers_ping_with_the_same_data) {
    deliver(peer.arp_request());
    card.sent.clear();
    auto req = echo_request(56);
    deliver(peer.ipv4_frame(ip_protocol_icmp, req));
    ASSERT_EQ(card.sent.size(), 1u);
    byte_reader r(card.sent[0]);
    ASSERT_TRUE(parse_ethernet(r));
    auto ip = parse_ipv4(r);
    ASSERT_TRUE(ip);
    EXPECT_EQ(ip->dst, peer.ip);
    EXPECT_EQ(ip->protocol, ip_protocol_icmp);
    auto reply = byte_span(card.sent[0]).subspan(r.position(), ip->total_length - 20);
    ASSERT_EQ(reply.size(), req.size());
    EXPECT_EQ(reply[0], 0);
    EXPECT_EQ(checksum_of(reply), 0);
    EXPECT_TRUE(std::equal(reply.begin() + 4, reply.end(), req.begin() + 4));
    EXPECT_EQ(s->counters().icmp_echo_replies, 1u);
    EXPECT_EQ(s->counters().buffers_outstanding, 0u);

    req[9] ^= 0xff; // bad ICMP checksum
    card.sent.clear();
    deliver(peer.ipv4_frame(ip_protocol_icmp, req));
    EXPECT_TRUE(card.sent.empty());
}

TEST_F(ip_layer_test, drops_fragments_and_foreign_traffic_with_counters) {
    deliver(peer.arp_request());
    card.sent.clear();
    deliver(peer.ipv4_frame(ip_protocol_icmp, echo_request(8), 0x2000)); // MF
    deliver(peer.ipv4_frame(ip_protocol_icmp, echo_request(8), 0x0010)); // offset
    EXPECT_EQ(s->counters().dropped_fragments, 2u);
    peer.stack_ip = ip_of(7);
    deliver(peer.ipv4_frame(ip_protocol_icmp, echo_request(8)));
    EXPECT_EQ(s->counters().dropped_not_for_us, 1u);
    peer.stack_ip = ip_of(1);
    auto f = peer.tcp(tcp_flag::syn, 1, 0);
    f.back() ^= 0x55; // corrupt the TCP checksum (urgent pointer byte)
    deliver(f);
    EXPECT_EQ(s->counters().dropped_checksum, 1u);
    EXPECT_TRUE(card.sent.empty());
    EXPECT_EQ(s->counters().buffers_outstanding, 0u);
}

} // namespace
