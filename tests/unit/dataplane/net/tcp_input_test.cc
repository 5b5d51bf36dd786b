// The out-of-order queue's bound (tcp_input.cc): a whole receive window of full-sized
// segments behind a hole is held, so that one retransmission fills the hole; tiny
// segments still cannot pin more frames than that bound.
#include "tests/unit/dataplane/net/net_test_util.hh"

using namespace smbx;
using namespace smbx::net;
using namespace smbx::net::test;

namespace {

constexpr uint8_t SYN = tcp_flag::syn, ACK = tcp_flag::ack;
constexpr uint32_t mss = 1460; // what the stack offers for an MTU of 1500, no timestamps

struct tcp_input_test : stack_fixture {
    uint32_t base = 1000;   // the peer's first data byte
    uint32_t stack_seq = 0; // the stack's next sequence number
    connection_id id = 0;

    void SetUp() override {
        start_stack();
        deliver(peer.arp_request());
        // Window scaling on both sides: the stack's 1 MiB window is offered whole.
        tcp_options o;
        o.mss = uint16_t(mss);
        o.window_scale = 7;
        deliver(peer.tcp(SYN, base - 1, 0, {}, 65535, o));
        std::optional<segment> synack;
        for (auto& f : card.sent) {
            if (auto seg = parse_segment(f); seg && seg->tcp.flags == (SYN | ACK)) {
                synack = seg;
            }
        }
        ASSERT_TRUE(synack);
        stack_seq = synack->tcp.seq + 1;
        deliver(peer.tcp(ACK, base, stack_seq));
        ASSERT_EQ(app.established.size(), 1u);
        id = app.established[0];
        card.sent.clear();
    }
    // Segment `i` of a stream cut into `size`-byte segments.
    void send_segment(uint32_t i, uint32_t size = mss) {
        deliver(peer.tcp(ACK, base + i * size, stack_seq, pattern(size, i)));
    }
    uint32_t last_ack() {
        uint32_t ack = 0;
        for (auto& f : card.sent) {
            if (auto seg = parse_segment(f)) {
                ack = seg->tcp.ack;
            }
        }
        card.sent.clear();
        return ack;
    }
};

TEST_F(tcp_input_test, a_whole_window_behind_a_hole_is_held_and_delivered_by_one_segment) {
    // Segment 0 is lost; the sender goes on to the edge of our 1 MiB window: 717 more
    // full segments, more than the 512 the queue used to hold.
    const uint32_t in_window = cfg.receive_window / mss; // 718 whole segments
    ASSERT_GT(in_window - 1, 512u);
    for (uint32_t i = 1; i < in_window; ++i) {
        send_segment(i);
    }
    EXPECT_EQ(last_ack(), base); // duplicate ACKs only
    EXPECT_TRUE(app.received[id].empty());
    EXPECT_EQ(s->counters().buffers_outstanding, in_window - 1); // every frame held

    send_segment(0); // the retransmission fills the hole: everything is delivered
    EXPECT_EQ(last_ack(), base + in_window * mss);
    std::vector<uint8_t> expect;
    for (uint32_t i = 0; i < in_window; ++i) {
        auto p = pattern(mss, i);
        expect.insert(expect.end(), p.begin(), p.end());
    }
    ASSERT_EQ(app.received[id].size(), expect.size());
    EXPECT_TRUE(app.received[id] == expect); // in order, intact
    EXPECT_EQ(s->counters().buffers_outstanding, 0u);
}

TEST_F(tcp_input_test, tiny_segments_pin_no_more_frames_than_a_window_of_full_ones) {
    // One-byte segments behind a hole: only as many frames are kept as a window of
    // full-sized segments needs (the bound), the rest is dropped (and retransmitted).
    const uint32_t bound = (cfg.receive_window + mss - 1) / mss; // 719
    for (uint32_t i = 1; i <= bound + 200; ++i) {
        send_segment(i, 1);
    }
    EXPECT_EQ(s->counters().buffers_outstanding, bound);
    EXPECT_EQ(s->counters().tcp_out_of_order, bound + 200);

    send_segment(0, 1);
    EXPECT_EQ(last_ack(), base + 1 + bound); // the hole and the held segments
    EXPECT_EQ(app.received[id].size(), 1 + bound);
    EXPECT_EQ(s->counters().buffers_outstanding, 0u);
}

} // namespace
