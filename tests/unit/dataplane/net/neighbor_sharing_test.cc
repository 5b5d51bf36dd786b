// Two stacks standing for two workers on one port: what one learns from an ARP packet
// reaches the other (stack::neighbor_observer -> stack::learn_neighbor, the way
// dpdk_transport passes it through the workers' inboxes), so a connection waiting on
// one worker proceeds when the ARP reply was delivered to the other.
#include "tests/unit/dataplane/net/net_test_util.hh"

using namespace smbx;
using namespace smbx::net;
using namespace smbx::net::test;

namespace {

// Forwards every notification to the other stack, and records it.
struct forwarding_observer : neighbor_observer {
    stack* other = nullptr;
    time_us* now = nullptr;
    std::vector<std::pair<ipv4_address, mac_address>> seen;
    void on_neighbor_learned(ipv4_address ip, const mac_address& mac) override {
        seen.emplace_back(ip, mac);
        if (other) {
            other->learn_neighbor(ip, mac, *now);
        }
    }
};

struct neighbor_sharing_test : ::testing::Test {
    capture_nic card_a{mac_of(1)}, card_b{mac_of(1)};
    stack_config cfg;
    std::unique_ptr<stack> a, b;
    recording_app app;
    scripted_peer peer;
    forwarding_observer from_a, from_b;
    time_us now = 1'000'000;

    void SetUp() override {
        cfg.address = ip_of(1);
        a = std::make_unique<stack>(card_a, cfg);
        b = std::make_unique<stack>(card_b, cfg);
        a->listen(445, &app);
        b->listen(445, &app);
        from_a.other = b.get();
        from_a.now = &now;
        from_b.other = a.get();
        from_b.now = &now;
        a->set_neighbor_observer(&from_a);
        b->set_neighbor_observer(&from_b);
    }
    static void deliver(stack& s, const std::vector<uint8_t>& f, time_us now) {
        s.receive(make_heap_packet(f), now);
        s.poll(now);
    }
    std::vector<uint8_t> arp_reply() const {
        auto f = peer.arp_request();
        f[21] = arp_packet::reply; // the opcode's low byte
        return f;
    }
};

TEST_F(neighbor_sharing_test, syn_waiting_on_one_worker_is_answered_after_reply_on_the_other) {
    // The SYN lands on b, which has no entry and asks.
    deliver(*b, peer.tcp(tcp_flag::syn, 100, 0), now);
    ASSERT_EQ(card_b.sent.size(), 1u);
    EXPECT_EQ(b->counters().arp_requests_sent, 1u);
    card_b.sent.clear();

    // The NIC hands the reply to a's queue: a learns it and tells b, which sends the
    // SYN-ACK to the peer's MAC at once (no wait for an ARP retry).
    now += 10;
    deliver(*a, arp_reply(), now);
    ASSERT_EQ(from_a.seen.size(), 1u);
    EXPECT_EQ(from_a.seen[0].first, peer.ip);
    EXPECT_EQ(from_a.seen[0].second, peer.mac);
    EXPECT_TRUE(card_a.sent.empty()); // a reply is not answered
    b->poll(now);
    ASSERT_EQ(card_b.sent.size(), 1u);
    byte_reader r(card_b.sent[0]);
    auto eth = parse_ethernet(r);
    ASSERT_TRUE(eth);
    EXPECT_EQ(eth->dst, peer.mac);
    auto seg = parse_segment(card_b.sent[0]);
    ASSERT_TRUE(seg);
    EXPECT_EQ(seg->tcp.flags, tcp_flag::syn | tcp_flag::ack);
    // What b was told is not told back: no ping-pong between the workers.
    EXPECT_TRUE(from_b.seen.empty());
}

TEST_F(neighbor_sharing_test, only_news_is_shared) {
    deliver(*a, peer.arp_request(), now); // a request to us teaches the sender's MAC
    EXPECT_EQ(from_a.seen.size(), 1u);
    deliver(*a, peer.arp_request(), now + 1); // the same again: a refresh, not news
    EXPECT_EQ(from_a.seen.size(), 1u);

    peer.mac = mac_of(7); // the neighbour moved (a new NIC behind the same address)
    deliver(*a, peer.arp_request(), now + 2);
    ASSERT_EQ(from_a.seen.size(), 2u);
    EXPECT_EQ(from_a.seen[1].second, mac_of(7));

    // ARP between other hosts is not about us: nothing learned, nothing shared.
    peer.stack_ip = ip_of(9);
    peer.ip = ip_of(5);
    deliver(*a, peer.arp_request(), now + 3);
    EXPECT_EQ(from_a.seen.size(), 2u);
    EXPECT_TRUE(from_b.seen.empty());
}

TEST_F(neighbor_sharing_test, a_reply_is_shared_even_when_the_receiver_knew_the_neighbour) {
    deliver(*a, peer.arp_request(), now); // both learn the peer
    ASSERT_EQ(from_a.seen.size(), 1u);
    // Traffic keeps a's entry fresh (RFC 1122 2.3.2.1); b's, unused, expires. (A frame
    // from the peer would refresh b's too: b opens a connection without one.)
    now += cfg.arp_lifetime - 1'000;
    deliver(*a, peer.tcp(tcp_flag::rst, 1, 0), now);
    now += 2'000;
    card_b.sent.clear();
    ASSERT_NE(b->connect(peer.ip, peer.port, 33000, &app, now), 0u);
    b->poll(now);
    ASSERT_EQ(card_b.sent.size(), 1u); // b asks again
    EXPECT_EQ(b->counters().arp_requests_sent, 1u);
    card_b.sent.clear();
    // The reply lands on a, for which it is nothing new; b still has to hear of it.
    deliver(*a, arp_reply(), now + 10);
    ASSERT_EQ(from_a.seen.size(), 2u);
    b->poll(now + 10);
    ASSERT_EQ(card_b.sent.size(), 1u);
    auto seg = parse_segment(card_b.sent[0]);
    ASSERT_TRUE(seg);
    EXPECT_EQ(seg->tcp.flags, tcp_flag::syn);
}

TEST_F(neighbor_sharing_test, a_shared_entry_serves_the_other_worker_without_asking) {
    deliver(*a, peer.arp_request(), now);
    card_a.sent.clear();
    // b never saw an ARP packet, yet answers a SYN straight away.
    deliver(*b, peer.tcp(tcp_flag::syn, 100, 0), now + 1);
    ASSERT_EQ(card_b.sent.size(), 1u);
    auto seg = parse_segment(card_b.sent[0]);
    ASSERT_TRUE(seg);
    EXPECT_EQ(seg->tcp.flags, tcp_flag::syn | tcp_flag::ack);
    EXPECT_EQ(b->counters().arp_requests_sent, 0u);
}

} // namespace
