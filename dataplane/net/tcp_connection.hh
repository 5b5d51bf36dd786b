// One TCP connection: the RFC 9293 state machine, its send and receive sequence spaces,
// and the timers (retransmission, delayed ACK, keep-alive, TIME-WAIT). Owned by the stack;
// the application reaches it only through stack calls by connection_id.
//
// Received payload goes to the application as packet_buffer views of the frames (no copy);
// sent payload stays in the application's tx_blocks until acknowledged (no copy).
#pragma once

#include <deque>
#include <vector>

#include "dataplane/net/newreno.hh"
#include "dataplane/net/packet_buffer.hh"
#include "dataplane/net/rtt_estimator.hh"
#include "dataplane/net/tcp_events.hh"
#include "dataplane/net/wire.hh"

namespace smbx::net {

class stack;

class tcp_connection {
public:
    tcp_connection(stack& owner, connection_id id, const flow_key& key, tcp_events* events);
    ~tcp_connection();
    tcp_connection(const tcp_connection&) = delete;
    tcp_connection& operator=(const tcp_connection&) = delete;

    // LISTEN received an acceptable SYN (RFC 9293 3.10.7.2): answer with SYN-ACK.
    void open_passive(const tcp_header& syn, time_us now);
    // Active open (used by test clients): send SYN.
    void open_active(time_us now);
    // A segment for this connection; `payload` is the frame narrowed to the TCP data.
    void input(const tcp_header& h, packet_buffer payload, time_us now);
    void on_timers(time_us now);
    time_us next_deadline() const;
    // Sends what the windows allow, and any ACK owed.
    void output(time_us now);
    // The next hop's MAC just became known: resend what could not go out.
    void on_route_resolved(time_us now);

    bool send(tx_block* block); // takes the block's reference
    void close(time_us now);    // FIN after queued data (RFC 9293 3.10.4)
    void abort(time_us now);    // RST (RFC 9293 3.10.5)

    tcp_state state() const { return _state; }
    connection_id id() const { return _id; }
    const flow_key& key() const { return _key; }
    uint32_t rcv_nxt() const { return _rcv_nxt; }
    size_t queued_bytes() const { return _queued_bytes; }
    uint32_t cwnd() const { return _cc.cwnd(); }
    bool app_attached() const { return _app_attached; }

private:
    // tcp_input.cc
    void input_syn_sent(const tcp_header& h, time_us now);
    bool acceptable(const tcp_header& h, size_t len) const;
    // How many segments the out-of-order queue holds at most.
    size_t out_of_order_limit() const;
    bool process_ack(const tcp_header& h, size_t payload_size, time_us now);
    void process_text(uint32_t seq, packet_buffer payload, bool fin, time_us now);
    void deliver(packet_buffer payload, bool fin, time_us now);
    void on_fin(time_us now);
    void establish(const tcp_header& h, time_us now);
    void take_syn_options(const tcp_header& syn);
    void release_acked();
    void update_ts_recent(const tcp_header& h, size_t len);

    // tcp_output.cc
    uint32_t transmit(uint32_t seq, uint32_t len, bool fin, time_us now);
    void finish_segment(tx_frame* f, uint32_t seq, uint8_t flags, time_us now);
    void ack_sent();
    void send_syn(time_us now);
    void send_ack(time_us now);
    void send_challenge_ack(time_us now);
    void send_reset(uint32_t seq);
    uint16_t window_field(bool syn) const;
    uint32_t data_end() const { return _queue_seq + uint32_t(_queued_bytes); }
    uint32_t effective_mss() const;
    uint32_t ts_clock(time_us now) const { return uint32_t(now / 1000) + _ts_offset; }
    std::deque<tx_block*>::iterator locate(uint32_t seq, uint32_t& block_seq);

    // tcp_timers.cc
    void on_retransmit_timeout(time_us now);
    void arm_retransmit(time_us now);
    void enter_time_wait(time_us now);
    void leave_syn_received();
    void detach_app(close_reason reason);
    void finish(close_reason reason);

    stack& _stack;
    connection_id _id;
    flow_key _key;
    tcp_events* _events;
    tcp_state _state = tcp_state::closed;
    bool _active_open = false;
    bool _in_backlog = false;   // counted in the listener's SYN backlog
    bool _app_attached = false; // on_established was called, on_closed not yet

    // Send sequence space (RFC 9293 3.3.1). _snd_max is the highest sequence sent:
    // after a timeout _snd_nxt goes back to _snd_una and resends (go-back-N).
    uint32_t _iss = 0, _snd_una = 0, _snd_nxt = 0, _snd_max = 0;
    uint32_t _snd_wnd = 0, _max_snd_wnd = 0, _snd_wl1 = 0, _snd_wl2 = 0;
    uint8_t _snd_wscale = 0, _rcv_wscale = 0;
    uint16_t _snd_mss = 536; // RFC 9293 3.7.1 default when the peer sends none
    bool _wscale_ok = false;
    bool _ts_ok = false;

    // Send queue: application blocks; _queue_seq is the sequence number of the first
    // byte of the front block. _cursor speeds up finding the block for SND.NXT.
    std::deque<tx_block*> _send_queue;
    uint32_t _queue_seq = 0;
    uint64_t _queued_bytes = 0;
    size_t _cursor_index = 0;
    uint32_t _cursor_seq = 0;
    bool _fin_queued = false;

    // Receive sequence space.
    uint32_t _irs = 0, _rcv_nxt = 0, _rcv_wnd = 0, _last_ack_sent = 0;
    struct out_of_order_segment {
        uint32_t seq;
        packet_buffer payload;
        bool fin;
    };
    std::vector<out_of_order_segment> _out_of_order; // sorted by seq, not overlapping
    bool _fin_received = false;

    // RFC 7323 timestamps.
    uint32_t _ts_recent = 0;
    uint32_t _ts_offset = 0;

    // Timers (0 = not armed).
    time_us _rto_deadline = 0;
    time_us _delack_deadline = 0;
    time_us _state_deadline = 0; // TIME-WAIT, orphaned FIN-WAIT-2
    time_us _last_heard = 0;     // keep-alive idle reference
    uint32_t _keepalive_sent = 0;
    uint32_t _retries = 0;

    bool _ack_now = false;
    uint32_t _segments_unacked = 0;

    rtt_estimator _rtt;
    bool _rtt_timing = false; // RTT measured by one timed segment when no timestamps
    uint32_t _rtt_seq = 0;
    time_us _rtt_start = 0;
    newreno _cc;
};

} // namespace smbx::net
