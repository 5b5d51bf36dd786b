// The TCP state machine against a scripted peer: handshake and options, data and
// delayed ACKs, passive/active/simultaneous close, TIME-WAIT, RST in every state
// (RFC 5961 exact-match rule), challenge ACKs, closed ports, the SYN backlog.
#include "tests/unit/dataplane/net/net_test_util.hh"

#include "dataplane/net/tcp_seq.hh"

using namespace smbx;
using namespace smbx::net;
using namespace smbx::net::test;

namespace {

using F = uint8_t;
constexpr F SYN = tcp_flag::syn, ACK = tcp_flag::ack, FIN = tcp_flag::fin, RST = tcp_flag::rst;

struct tcp_state_test : stack_fixture {
    uint32_t peer_seq = 1000; // the next sequence number the peer sends
    uint32_t stack_seq = 0;   // the stack's next sequence number as the peer saw it

    void SetUp() override { start(); }
    void start() {
        start_stack();
        deliver(peer.arp_request());
        card.sent.clear();
    }
    std::vector<segment> take() {
        std::vector<segment> out;
        for (auto& f : card.sent) {
            if (auto seg = parse_segment(f)) {
                out.push_back(*seg);
            }
        }
        card.sent.clear();
        return out;
    }
    void send(F flags, const std::vector<uint8_t>& data = {}, uint16_t window = 65535) {
        deliver(peer.tcp(flags, peer_seq, stack_seq, data, window));
        peer_seq += uint32_t(data.size()) + ((flags & SYN) ? 1 : 0) + ((flags & FIN) ? 1 : 0);
    }
    connection_id handshake() {
        tcp_options o;
        o.mss = 1460;
        deliver(peer.tcp(SYN, peer_seq - 1, 0, {}, 65535, o));
        auto synack = take();
        EXPECT_EQ(synack.size(), 1u);
        EXPECT_EQ(synack[0].tcp.flags, SYN | ACK);
        EXPECT_EQ(synack[0].tcp.ack, peer_seq);
        stack_seq = synack[0].tcp.seq + 1;
        size_t before = app.established.size();
        send(ACK);
        EXPECT_EQ(app.established.size(), before + 1);
        return app.established.empty() ? 0 : app.established.back();
    }
    tcp_state state_of(connection_id id) { return s->state(id); }
    // Moves a fresh connection to `target` through the peer's and the app's actions.
    connection_id reach(tcp_state target);
};

connection_id tcp_state_test::reach(tcp_state target) {
    if (target == tcp_state::syn_received) {
        deliver(peer.tcp(SYN, peer_seq - 1, 0));
        auto synack = take();
        stack_seq = synack.at(0).tcp.seq + 1;
        return 0;
    }
    connection_id id = handshake();
    switch (target) {
    case tcp_state::established:
        break;
    case tcp_state::close_wait:
        send(FIN | ACK);
        break;
    case tcp_state::last_ack:
        send(FIN | ACK);
        s->close(id);
        advance(0);
        break;
    case tcp_state::fin_wait_1:
        s->close(id);
        advance(0);
        break;
    case tcp_state::fin_wait_2:
        s->close(id);
        advance(0);
        stack_seq += 1;
        send(ACK);
        break;
    case tcp_state::closing:
        s->close(id);
        advance(0);
        send(FIN | ACK); // does not acknowledge our FIN
        break;
    case tcp_state::time_wait:
        s->close(id);
        advance(0);
        stack_seq += 1;
        send(FIN | ACK);
        break;
    default:
        break;
    }
    take();
    return id;
}

TEST_F(tcp_state_test, handshake_negotiates_mss_window_scale_and_timestamps) {
    tcp_options o;
    o.mss = 1200;
    o.window_scale = 7;
    o.has_timestamps = true;
    o.ts_value = 777;
    deliver(peer.tcp(SYN, 999, 0, {}, 65535, o));
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    auto& sa = out[0].tcp;
    EXPECT_EQ(sa.flags, SYN | ACK);
    EXPECT_EQ(sa.ack, 1000u);
    EXPECT_EQ(sa.options.mss.value_or(0), 1460);
    ASSERT_TRUE(sa.options.window_scale.has_value());
    EXPECT_EQ(*sa.options.window_scale, 5); // 1 MiB window needs a shift of 5
    ASSERT_TRUE(sa.options.has_timestamps);
    EXPECT_EQ(sa.options.ts_echo, 777u);
    EXPECT_EQ(s->connection_count(), 1u);
    EXPECT_TRUE(app.established.empty());

    // The ACK completes the handshake; the peer's window of 100 << 7 bounds what we send.
    tcp_options ts;
    ts.has_timestamps = true;
    ts.ts_value = 778;
    ts.ts_echo = sa.options.ts_value;
    deliver(peer.tcp(ACK, 1000, sa.seq + 1, {}, 100, ts));
    ASSERT_EQ(app.established.size(), 1u);
    connection_id id = app.established[0];
    EXPECT_EQ(s->state(id), tcp_state::established);
    ASSERT_TRUE(s->send(id, make_tx_block(pattern(100000, 1))));
    advance(0);
    size_t bytes = 0;
    for (auto& seg : take()) {
        EXPECT_LE(seg.payload.size(), 1200u - 12u); // peer MSS minus the timestamp option
        EXPECT_TRUE(seg.tcp.options.has_timestamps);
        EXPECT_EQ(seg.tcp.options.ts_echo, 778u);
        bytes += seg.payload.size();
    }
    EXPECT_EQ(bytes, 12800u / 1188u * 1188u); // the 920-byte rest waits (sender SWS rule)
}

TEST_F(tcp_state_test, data_is_delivered_in_order_and_acked_every_second_segment) {
    connection_id id = handshake();
    send(ACK, pattern(1000, 1));
    EXPECT_TRUE(take().empty()); // delayed
    send(ACK, pattern(1000, 2));
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.ack, peer_seq);
    send(ACK, pattern(10, 3));
    EXPECT_TRUE(take().empty());
    advance(cfg.delayed_ack + 1000);
    out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.ack, peer_seq);
    auto expect = pattern(1000, 1);
    auto p2 = pattern(1000, 2), p3 = pattern(10, 3);
    expect.insert(expect.end(), p2.begin(), p2.end());
    expect.insert(expect.end(), p3.begin(), p3.end());
    EXPECT_EQ(app.received[id], expect);
}

TEST_F(tcp_state_test, out_of_order_segments_are_held_and_acked_at_once) {
    connection_id id = handshake();
    uint32_t base = peer_seq;
    auto a = pattern(500, 1), b = pattern(500, 2), c = pattern(500, 3);
    deliver(peer.tcp(ACK, base + 1000, stack_seq, c));
    deliver(peer.tcp(ACK, base + 500, stack_seq, b));
    auto out = take();
    ASSERT_EQ(out.size(), 2u); // duplicate ACKs
    EXPECT_EQ(out[1].tcp.ack, base);
    EXPECT_TRUE(app.received[id].empty());
    deliver(peer.tcp(ACK, base, stack_seq, a));
    out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.ack, base + 1500);
    a.insert(a.end(), b.begin(), b.end());
    a.insert(a.end(), c.begin(), c.end());
    EXPECT_EQ(app.received[id], a);
    EXPECT_EQ(s->counters().tcp_out_of_order, 2u);
}

TEST_F(tcp_state_test, passive_close_goes_through_close_wait_and_last_ack) {
    app.close_on_peer_close = false;
    connection_id id = handshake();
    send(FIN | ACK);
    EXPECT_EQ(state_of(id), tcp_state::close_wait);
    EXPECT_EQ(app.peer_closed.count(id), 1u);
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.ack, peer_seq);
    s->close(id);
    advance(0);
    EXPECT_EQ(state_of(id), tcp_state::last_ack);
    out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].tcp.has(FIN));
    stack_seq = out[0].tcp.seq + 1;
    send(ACK);
    EXPECT_EQ(app.closed.at(id), close_reason::normal);
    EXPECT_EQ(s->connection_count(), 0u);
    EXPECT_EQ(s->counters().buffers_outstanding, 0u);
}

TEST_F(tcp_state_test, active_close_waits_in_time_wait_for_two_msl) {
    connection_id id = handshake();
    s->close(id);
    advance(0);
    EXPECT_EQ(state_of(id), tcp_state::fin_wait_1);
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].tcp.has(FIN));
    stack_seq += 1;
    send(ACK);
    EXPECT_EQ(state_of(id), tcp_state::fin_wait_2);
    send(FIN | ACK);
    out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.ack, peer_seq);
    EXPECT_EQ(app.closed.at(id), close_reason::normal); // the app is done at TIME-WAIT
    EXPECT_EQ(s->connection_count(), 1u);
    // A retransmitted FIN is ACKed again.
    deliver(peer.tcp(FIN | ACK, peer_seq - 1, stack_seq));
    out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.ack, peer_seq);
    advance(cfg.time_wait - 1000);
    EXPECT_EQ(s->connection_count(), 1u);
    advance(2000);
    EXPECT_EQ(s->connection_count(), 0u);
}

TEST_F(tcp_state_test, simultaneous_close_goes_through_closing) {
    connection_id id = handshake();
    s->close(id);
    advance(0);
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    uint32_t our_fin = out[0].tcp.seq;
    send(FIN | ACK); // crosses our FIN: acknowledges only up to it
    EXPECT_EQ(state_of(id), tcp_state::closing);
    out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.ack, peer_seq);
    deliver(peer.tcp(ACK, peer_seq, our_fin + 1));
    EXPECT_EQ(s->connection_count(), 1u);
    EXPECT_EQ(app.closed.at(id), close_reason::normal);
    advance(cfg.time_wait + 1000);
    EXPECT_EQ(s->connection_count(), 0u);
}

TEST_F(tcp_state_test, reset_with_exact_sequence_closes_every_state) {
    for (tcp_state st : {tcp_state::syn_received, tcp_state::established, tcp_state::fin_wait_1,
                         tcp_state::fin_wait_2, tcp_state::close_wait, tcp_state::closing,
                         tcp_state::last_ack, tcp_state::time_wait}) {
        SCOPED_TRACE(to_string(st));
        app = recording_app{};
        peer.port++;
        connection_id id = reach(st);
        if (id) {
            EXPECT_EQ(state_of(id), st == tcp_state::time_wait ? tcp_state::closed : st);
        }
        EXPECT_EQ(s->connection_count(), 1u);
        uint64_t resets = s->counters().tcp_resets_received;
        deliver(peer.tcp(RST, peer_seq, 0));
        EXPECT_EQ(s->connection_count(), 0u);
        EXPECT_EQ(s->counters().tcp_resets_received, resets + 1);
        EXPECT_TRUE(take().empty()); // never answer a RST with a RST
        if (id && st != tcp_state::time_wait) {
            EXPECT_EQ(app.closed.at(id), close_reason::reset);
        }
    }
    EXPECT_EQ(s->counters().buffers_outstanding, 0u);
}

TEST_F(tcp_state_test, reset_in_window_but_not_exact_draws_a_challenge_ack) {
    for (tcp_state st : {tcp_state::established, tcp_state::fin_wait_1, tcp_state::fin_wait_2,
                         tcp_state::close_wait, tcp_state::closing, tcp_state::last_ack}) {
        SCOPED_TRACE(to_string(st));
        peer.port++;
        connection_id id = reach(st);
        deliver(peer.tcp(RST, peer_seq + 100, 0));
        EXPECT_EQ(state_of(id), st);
        auto out = take();
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].tcp.flags, ACK);
        EXPECT_EQ(out[0].tcp.ack, peer_seq);
        // Outside the window: silently dropped.
        deliver(peer.tcp(RST, peer_seq + 5'000'000, 0));
        EXPECT_TRUE(take().empty());
        EXPECT_EQ(state_of(id), st);
        s->abort(id);
        advance(0);
        auto rst = take();
        ASSERT_EQ(rst.size(), 1u);
        EXPECT_EQ(rst[0].tcp.flags, RST);
    }
    EXPECT_GE(s->counters().tcp_challenge_acks, 6u);
}

TEST_F(tcp_state_test, syn_on_an_established_connection_draws_a_challenge_ack) {
    connection_id id = handshake();
    deliver(peer.tcp(SYN, peer_seq + 50, 0));
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, ACK);
    EXPECT_EQ(state_of(id), tcp_state::established);
}

TEST_F(tcp_state_test, ack_of_unsent_data_is_dropped_with_an_ack) {
    connection_id id = handshake();
    deliver(peer.tcp(ACK, peer_seq, stack_seq + 1000, pattern(10, 1)));
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.ack, peer_seq); // the data was not taken
    EXPECT_TRUE(app.received[id].empty());
}

TEST_F(tcp_state_test, closed_port_answers_with_reset) {
    peer.stack_port = 446;
    deliver(peer.tcp(SYN, 5000, 0));
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, RST | ACK);
    EXPECT_EQ(out[0].tcp.ack, 5001u);
    deliver(peer.tcp(ACK, 5001, 777));
    out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, RST);
    EXPECT_EQ(out[0].tcp.seq, 777u);
    deliver(peer.tcp(RST, 5001, 0));
    EXPECT_TRUE(take().empty());
}

TEST_F(tcp_state_test, syn_backlog_limits_half_open_connections) {
    cfg.syn_backlog = 2;
    start();
    for (int i = 0; i < 3; ++i) {
        peer.port = uint16_t(50000 + i);
        deliver(peer.tcp(SYN, 100, 0));
    }
    EXPECT_EQ(take().size(), 2u);
    EXPECT_EQ(s->counters().tcp_syn_backlog_drops, 1u);
    EXPECT_EQ(s->connection_count(), 2u);
    // Unanswered SYN-ACKs are retried, then the half-open connections go away.
    advance(cfg.initial_rto + 1000);
    EXPECT_EQ(take().size(), 2u);
    for (int i = 0; i < 10; ++i) {
        advance(cfg.max_rto);
    }
    EXPECT_EQ(s->connection_count(), 0u);
    EXPECT_EQ(take().size(), 2u * cfg.max_syn_ack_retransmits - 2u);
    // (The ARP entry expired meanwhile; the SYN itself refreshes it.)
    peer.port = 50002;
    deliver(peer.tcp(SYN, 100, 0));
    EXPECT_EQ(take().size(), 1u);
}

TEST_F(tcp_state_test, unacknowledged_data_is_retransmitted_with_backoff) {
    connection_id id = handshake();
    ASSERT_TRUE(s->send(id, make_tx_block(pattern(100, 1))));
    advance(0);
    ASSERT_EQ(take().size(), 1u);
    advance(cfg.initial_rto - 1000);
    EXPECT_TRUE(take().empty());
    advance(2000);
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, pattern(100, 1));
    EXPECT_EQ(s->counters().tcp_retransmits, 1u);
    advance(cfg.initial_rto + 1000); // backed off: 2 s now
    EXPECT_TRUE(take().empty());
    advance(cfg.initial_rto);
    EXPECT_EQ(take().size(), 1u);
    // The ACK stops the timer and completes the block.
    deliver(peer.tcp(ACK, peer_seq, stack_seq + 100));
    EXPECT_EQ(s->counters().buffers_outstanding, 0u);
    advance(10 * cfg.initial_rto);
    EXPECT_TRUE(take().empty());
}

TEST_F(tcp_state_test, three_duplicate_acks_trigger_fast_retransmit) {
    connection_id id = handshake();
    ASSERT_TRUE(s->send(id, make_tx_block(pattern(8 * 1460, 1))));
    advance(0);
    auto out = take();
    ASSERT_EQ(out.size(), 8u);
    for (int i = 0; i < 3; ++i) {
        deliver(peer.tcp(ACK, peer_seq, stack_seq));
    }
    out = take();
    ASSERT_GE(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.seq, stack_seq);
    EXPECT_EQ(out[0].payload.size(), 1460u);
    EXPECT_EQ(s->counters().tcp_fast_retransmits, 1u);
}

TEST_F(tcp_state_test, keepalive_probes_then_gives_up) {
    cfg.keepalive_idle = 10'000'000;
    cfg.keepalive_interval = 1'000'000;
    cfg.keepalive_probes = 3;
    start();
    connection_id id = handshake();
    advance(cfg.keepalive_idle + 1000);
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.seq, stack_seq - 1);
    deliver(peer.tcp(ACK, peer_seq, stack_seq)); // answered: idle again
    advance(cfg.keepalive_idle / 2);
    EXPECT_TRUE(take().empty());
    advance(cfg.keepalive_idle);
    for (int i = 0; i < 3; ++i) {
        advance(cfg.keepalive_interval);
    }
    EXPECT_EQ(app.closed.at(id), close_reason::timeout);
    EXPECT_EQ(s->connection_count(), 0u);
}

TEST_F(tcp_state_test, paws_drops_segments_with_old_timestamps) {
    tcp_options o;
    o.has_timestamps = true;
    o.ts_value = 1000;
    deliver(peer.tcp(SYN, 999, 0, {}, 65535, o));
    auto sa = take().at(0).tcp;
    o.ts_value = 1001;
    deliver(peer.tcp(ACK, 1000, sa.seq + 1, {}, 65535, o));
    connection_id id = app.established.at(0);
    o.ts_value = 500; // older than TS.Recent
    deliver(peer.tcp(ACK, 1000, sa.seq + 1, pattern(10, 1), 65535, o));
    EXPECT_TRUE(app.received[id].empty());
    EXPECT_EQ(s->counters().tcp_paws_drops, 1u);
    EXPECT_EQ(take().size(), 1u); // answered with an ACK
    o.ts_value = 1002;
    deliver(peer.tcp(ACK, 1000, sa.seq + 1, pattern(10, 1), 65535, o));
    EXPECT_EQ(app.received[id], pattern(10, 1));
}

TEST_F(tcp_state_test, peer_sequence_numbers_wrap_around) {
    peer_seq = 0xfffffff0u + 1;
    tcp_options o;
    deliver(peer.tcp(SYN, 0xfffffff0u, 0));
    stack_seq = take().at(0).tcp.seq + 1;
    send(ACK);
    connection_id id = app.established.at(0);
    send(ACK, pattern(100, 1)); // crosses 2^32
    send(ACK, pattern(100, 2));
    auto expect = pattern(100, 1), p2 = pattern(100, 2);
    expect.insert(expect.end(), p2.begin(), p2.end());
    EXPECT_EQ(app.received[id], expect);
    EXPECT_LT(peer_seq, 0x1000u);
}

TEST_F(tcp_state_test, new_syn_in_time_wait_opens_a_new_connection) {
    reach(tcp_state::time_wait);
    EXPECT_EQ(s->connection_count(), 1u);
    deliver(peer.tcp(SYN, peer_seq + 100000, 0));
    auto out = take();
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].tcp.flags, SYN | ACK);
    EXPECT_EQ(s->connection_count(), 1u);
}

} // namespace
