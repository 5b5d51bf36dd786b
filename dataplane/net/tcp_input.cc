// Segment arrival for one connection: RFC 9293 3.10.7.3 (SYN-SENT) and 3.10.7.4 (the
// synchronized states), with RFC 5961 (blind RST/SYN/ACK checks), RFC 7323 (PAWS,
// timestamps, window scaling) and RFC 5681/6582 ACK handling.
#include <algorithm>

#include "dataplane/net/stack.hh"
#include "dataplane/net/tcp_seq.hh"

namespace smbx::net {

namespace {
// Segments held ahead of RCV.NXT are bounded: each holds a received frame, and a peer
// sending tiny segments could otherwise pin one frame per byte of window. The bound is
// at least this, and at least a whole window of full-sized segments (out_of_order_limit).
constexpr size_t min_out_of_order_segments = 512;
constexpr uint32_t max_window = 1u << 30; // RFC 7323 2.3: shift at most 14

uint8_t scale_for(uint32_t window) {
    uint8_t s = 0;
    while (s < 14 && (window >> s) > 0xffff) {
        ++s;
    }
    return s;
}
} // namespace

tcp_connection::tcp_connection(stack& owner, connection_id id, const flow_key& key,
                               tcp_events* events)
    : _stack(owner), _id(id), _key(key), _events(events),
      _rtt(owner.config().initial_rto, owner.config().min_rto, owner.config().max_rto) {}

tcp_connection::~tcp_connection() {
    for (auto* b : _send_queue) {
        b->drop();
    }
}

void tcp_connection::take_syn_options(const tcp_header& syn) {
    const auto& cfg = _stack.config();
    uint16_t our_mss = tcp_mss_for_mtu(cfg.mtu);
    _snd_mss = std::min<uint16_t>(syn.options.mss.value_or(536), our_mss);
    _snd_mss = std::max<uint16_t>(_snd_mss, 64); // a peer's MSS of 0 must not stall us
    // RFC 7323 2.2: scaling only if both SYNs carry the option.
    _wscale_ok = syn.options.window_scale.has_value();
    _snd_wscale = _wscale_ok ? std::min<uint8_t>(*syn.options.window_scale, 14) : 0;
    uint32_t window = std::min(cfg.receive_window, max_window);
    _rcv_wscale = _wscale_ok ? scale_for(window) : 0;
    _rcv_wnd = _wscale_ok ? window : std::min<uint32_t>(window, 0xffff);
    // Round down so the advertised (shifted) value covers exactly the window we accept.
    _rcv_wnd = (_rcv_wnd >> _rcv_wscale) << _rcv_wscale;
    _ts_ok = syn.options.has_timestamps;
    _ts_recent = syn.options.ts_value;
}

void tcp_connection::open_passive(const tcp_header& syn, time_us now) {
    _state = tcp_state::syn_received;
    _in_backlog = true;
    _irs = syn.seq;
    _rcv_nxt = syn.seq + 1;
    take_syn_options(syn);
    _iss = _stack.initial_sequence(_key, now);
    _snd_una = _iss;
    _snd_nxt = _snd_max = _iss + 1;
    _queue_seq = _cursor_seq = _iss + 1;
    _snd_wnd = _max_snd_wnd = syn.window; // RFC 7323 2.2: a SYN's window is never scaled
    _snd_wl1 = syn.seq;
    _snd_wl2 = _iss;
    _ts_offset = _iss; // RFC 7323 5.4: a per-connection random offset
    _last_heard = now;
    _cc.init(effective_mss(), _stack.config().initial_window_segments);
    send_syn(now);
    arm_retransmit(now);
}

void tcp_connection::open_active(time_us now) {
    _state = tcp_state::syn_sent;
    _active_open = true;
    _app_attached = true;
    _iss = _stack.initial_sequence(_key, now);
    _snd_una = _iss;
    _snd_nxt = _snd_max = _iss + 1;
    _queue_seq = _cursor_seq = _iss + 1;
    _ts_offset = _iss;
    _last_heard = now;
    uint32_t window = std::min(_stack.config().receive_window, max_window);
    _rcv_wscale = scale_for(window); // offered; kept only if the peer offers too
    _rcv_wnd = std::min<uint32_t>(window, 0xffff);
    send_syn(now);
    arm_retransmit(now);
}

// RFC 9293 3.10.7.3.
void tcp_connection::input_syn_sent(const tcp_header& h, time_us now) {
    bool ack_ok = false;
    if (h.has(tcp_flag::ack)) {
        if (seq_le(h.ack, _iss) || seq_gt(h.ack, _snd_max)) {
            if (!h.has(tcp_flag::rst)) {
                send_reset(h.ack);
            }
            return;
        }
        ack_ok = true;
    }
    if (h.has(tcp_flag::rst)) {
        if (ack_ok) {
            ++_stack.counters_mut().tcp_resets_received;
            finish(close_reason::reset);
        }
        return;
    }
    if (!h.has(tcp_flag::syn)) {
        return;
    }
    _irs = h.seq;
    _rcv_nxt = h.seq + 1;
    uint8_t offered = _rcv_wscale;
    take_syn_options(h);
    if (!_wscale_ok) {
        _rcv_wscale = 0;
    } else {
        _rcv_wscale = offered;
    }
    _cc.init(effective_mss(), _stack.config().initial_window_segments);
    if (ack_ok) {
        _snd_una = h.ack;
        _rto_deadline = 0;
        _retries = 0;
        _state = tcp_state::established;
        _snd_wnd = _max_snd_wnd = h.window; // unscaled in a SYN
        _snd_wl1 = h.seq;
        _snd_wl2 = h.ack;
        ++_stack.counters_mut().tcp_connections_connected;
        _ack_now = true;
        _events->on_established(_stack, _id);
        return;
    }
    // Simultaneous open: answer with SYN-ACK from SYN-RECEIVED.
    _state = tcp_state::syn_received;
    _snd_wnd = _max_snd_wnd = h.window;
    _snd_wl1 = h.seq;
    send_syn(now);
}

size_t tcp_connection::out_of_order_limit() const {
    // A sender keeps up to a window in flight behind a lost segment. Each one dropped
    // here becomes one more hole, and a sender without SACK (we offer none) repairs one
    // hole per round trip (RFC 6582 NewReno) or per retransmission timeout: under 1% loss
    // a bound below the window (512 segments against 725 in 1 MiB) collapsed a put to a
    // crawl (test_dpdk_loss). So the whole window fits, in segments of the MSS we offered
    // (RFC 9293 3.7.1) less the timestamps option when it is on.
    size_t mss = tcp_mss_for_mtu(_stack.config().mtu) - (_ts_ok ? tcp_timestamp_option_size : 0);
    return std::max(min_out_of_order_segments, (size_t(_rcv_wnd) + mss - 1) / mss);
}

bool tcp_connection::acceptable(const tcp_header& h, size_t len) const {
    // RFC 9293 3.10.7.4, the four cases of the acceptability test.
    uint32_t right = _rcv_nxt + _rcv_wnd;
    if (_rcv_wnd == 0) {
        return len == 0 && h.seq == _rcv_nxt;
    }
    if (len == 0) {
        return seq_in_range(h.seq, _rcv_nxt, right);
    }
    return seq_in_range(h.seq, _rcv_nxt, right) ||
           seq_in_range(h.seq + uint32_t(len) - 1, _rcv_nxt, right);
}

void tcp_connection::update_ts_recent(const tcp_header& h, size_t) {
    // RFC 7323 4.3 (with the correction of appendix D): only segments covering
    // Last.ACK.sent update TS.Recent.
    if (_ts_ok && h.options.has_timestamps && seq_ge(h.options.ts_value, _ts_recent) &&
        seq_le(h.seq, _last_ack_sent)) {
        _ts_recent = h.options.ts_value;
    }
}

void tcp_connection::input(const tcp_header& h, packet_buffer payload, time_us now) {
    _last_heard = now;
    _keepalive_sent = 0;
    if (_state == tcp_state::syn_sent) {
        input_syn_sent(h, now);
        if (_state != tcp_state::closed) {
            output(now);
        }
        return;
    }
    auto& counters = _stack.counters_mut();
    if (_state == tcp_state::syn_received && h.has(tcp_flag::syn) && !h.has(tcp_flag::ack) &&
        h.seq == _irs) {
        send_syn(now); // our SYN-ACK was lost: the peer retransmitted its SYN
        return;
    }
    size_t len = payload.size();
    uint32_t seg_len = uint32_t(len) + h.has(tcp_flag::syn) + h.has(tcp_flag::fin);
    if (_ts_ok && !h.has(tcp_flag::rst)) {
        // RFC 7323 3.2: once negotiated, segments without timestamps are dropped;
        // 5.3 R1 (PAWS): a timestamp older than TS.Recent marks an old duplicate.
        if (!h.options.has_timestamps) {
            return;
        }
        if (seq_lt(h.options.ts_value, _ts_recent)) {
            ++counters.tcp_paws_drops;
            _ack_now = true;
            output(now);
            return;
        }
    }
    if (!acceptable(h, seg_len)) {
        if (!h.has(tcp_flag::rst)) {
            if (seg_len > 0 && seq_lt(h.seq, _rcv_nxt)) {
                ++counters.tcp_duplicate_segments;
            }
            if (_state == tcp_state::time_wait && h.has(tcp_flag::fin)) {
                _state_deadline = now + _stack.config().time_wait; // RFC 9293: restart 2 MSL
            }
            _ack_now = true;
            output(now);
        }
        return;
    }
    update_ts_recent(h, len);
    if (h.has(tcp_flag::rst)) {
        // RFC 5961 3.2: only an exact RCV.NXT match resets; others get a challenge ACK.
        if (h.seq == _rcv_nxt) {
            ++counters.tcp_resets_received;
            finish(close_reason::reset);
        } else {
            send_challenge_ack(now);
        }
        return;
    }
    if (h.has(tcp_flag::syn)) {
        send_challenge_ack(now); // RFC 5961 4.2: SYN in a synchronized state
        return;
    }
    if (!h.has(tcp_flag::ack)) {
        return;
    }
    if (_state == tcp_state::syn_received) {
        if (!seq_gt(h.ack, _snd_una) || seq_gt(h.ack, _snd_max)) {
            send_reset(h.ack);
            return;
        }
        establish(h, now);
        if (_state == tcp_state::closed) {
            return;
        }
    }
    if (!process_ack(h, len, now)) {
        return;
    }
    // Trim to the window: data before RCV.NXT was received already; data beyond the
    // right edge is not accepted (and the FIN with it).
    uint32_t seq = h.seq;
    bool fin = h.has(tcp_flag::fin);
    if (seq_lt(seq, _rcv_nxt)) {
        uint32_t skip = std::min<uint32_t>(_rcv_nxt - seq, uint32_t(len));
        payload.narrow(skip, len - skip);
        seq += skip;
    }
    uint32_t right = _rcv_nxt + _rcv_wnd;
    if (seq_gt(seq + uint32_t(payload.size()), right)) {
        payload.narrow(0, seq_lt(seq, right) ? right - seq : 0);
        fin = false;
    }
    bool receiving = _state == tcp_state::established || _state == tcp_state::fin_wait_1 ||
                     _state == tcp_state::fin_wait_2;
    if (receiving && (!payload.empty() || fin)) {
        process_text(seq, std::move(payload), fin, now);
    }
    if (_state != tcp_state::closed) {
        output(now);
    }
}

void tcp_connection::establish(const tcp_header& h, time_us) {
    _state = tcp_state::established;
    leave_syn_received();
    _snd_wnd = uint32_t(h.window) << _snd_wscale;
    _max_snd_wnd = std::max(_max_snd_wnd, _snd_wnd);
    _snd_wl1 = h.seq;
    _snd_wl2 = h.ack;
    _app_attached = true;
    ++_stack.counters_mut().tcp_connections_accepted;
    _events->on_established(_stack, _id);
}

// RFC 9293 3.10.7.4, fifth check (ACK), with RFC 5961 5.2 and RFC 5681/6582.
bool tcp_connection::process_ack(const tcp_header& h, size_t payload_size, time_us now) {
    auto& counters = _stack.counters_mut();
    uint32_t ack = h.ack;
    if (seq_gt(ack, _snd_max) || seq_lt(ack, _snd_una - _max_snd_wnd)) {
        send_challenge_ack(now); // acknowledges what we never sent, or far too old
        return false;
    }
    uint32_t window = uint32_t(h.window) << _snd_wscale;
    if (seq_gt(ack, _snd_una)) {
        uint32_t acked = ack - _snd_una;
        uint32_t flight = _snd_max - _snd_una;
        if (_ts_ok && h.options.ts_echo != 0) {
            // RFC 7323 4.1: RTTM from the echoed timestamp, valid for retransmissions.
            uint32_t ms = ts_clock(now) - h.options.ts_echo;
            if (ms < 60'000) {
                _rtt.sample(time_us(std::max<uint32_t>(ms, 1)) * 1000);
            }
        } else if (_rtt_timing && seq_ge(ack, _rtt_seq)) {
            _rtt.sample(now - _rtt_start);
            _rtt_timing = false;
        }
        _snd_una = ack;
        if (seq_lt(_snd_nxt, _snd_una)) {
            _snd_nxt = _snd_una;
        }
        release_acked();
        _retries = 0;
        if (_cc.on_ack(acked, ack, flight) && _snd_una != _snd_max) {
            transmit(_snd_una, effective_mss(), _fin_queued, now); // NewReno partial ACK
        }
        if (_snd_una == _snd_max) {
            _rto_deadline = 0;
        } else {
            arm_retransmit(now); // RFC 6298 5.3
        }
    } else if (ack == _snd_una && payload_size == 0 && !h.has(tcp_flag::fin) &&
               window == _snd_wnd && _snd_max != _snd_una) {
        if (_cc.on_duplicate_ack(_snd_una, _snd_max, _snd_max - _snd_una)) {
            ++counters.tcp_fast_retransmits;
            _rtt_timing = false;
            transmit(_snd_una, effective_mss(), _fin_queued, now);
        }
    }
    if (seq_lt(_snd_wl1, h.seq) || (_snd_wl1 == h.seq && seq_le(_snd_wl2, ack))) {
        _snd_wnd = window;
        _snd_wl1 = h.seq;
        _snd_wl2 = ack;
        _max_snd_wnd = std::max(_max_snd_wnd, window);
    }
    bool fin_acked = _fin_queued && seq_gt(_snd_una, data_end());
    if (fin_acked) {
        if (_state == tcp_state::fin_wait_1) {
            _state = tcp_state::fin_wait_2;
            // The application has closed: do not wait forever for the peer's FIN.
            _state_deadline = now + _stack.config().time_wait;
        } else if (_state == tcp_state::closing) {
            enter_time_wait(now);
        } else if (_state == tcp_state::last_ack) {
            finish(close_reason::normal);
            return false;
        }
    }
    return true;
}

void tcp_connection::release_acked() {
    while (!_send_queue.empty()) {
        tx_block* b = _send_queue.front();
        uint32_t end = _queue_seq + uint32_t(b->size());
        if (!seq_le(end, _snd_una)) {
            break;
        }
        _send_queue.pop_front();
        _queued_bytes -= b->size();
        _queue_seq = end;
        if (_cursor_index > 0) {
            --_cursor_index;
        } else {
            _cursor_seq = _queue_seq;
        }
        b->drop(); // the application's completion runs when the last reference goes
    }
}

void tcp_connection::process_text(uint32_t seq, packet_buffer payload, bool fin, time_us now) {
    if (seq != _rcv_nxt) {
        // Ahead of RCV.NXT: keep it, and ACK at once so the sender sees a duplicate ACK
        // (RFC 5681 4.2).
        ++_stack.counters_mut().tcp_out_of_order;
        _ack_now = true;
        if (_out_of_order.size() >= out_of_order_limit()) {
            return;
        }
        uint32_t offset = seq - _rcv_nxt;
        auto pos = std::upper_bound(
            _out_of_order.begin(), _out_of_order.end(), offset,
            [&](uint32_t o, const out_of_order_segment& s) { return o < s.seq - _rcv_nxt; });
        if (pos != _out_of_order.begin()) {
            auto& prev = *(pos - 1);
            if (prev.seq == seq && prev.payload.size() >= payload.size() && (prev.fin || !fin)) {
                return; // a duplicate of what we hold
            }
        }
        _out_of_order.insert(pos, out_of_order_segment{seq, std::move(payload), fin});
        return;
    }
    bool filled_gap = !_out_of_order.empty();
    deliver(std::move(payload), fin, now);
    while (_state != tcp_state::closed && !_out_of_order.empty() &&
           seq_le(_out_of_order.front().seq, _rcv_nxt)) {
        out_of_order_segment s = std::move(_out_of_order.front());
        _out_of_order.erase(_out_of_order.begin());
        uint32_t end = s.seq + uint32_t(s.payload.size());
        if (seq_lt(end, _rcv_nxt) || (end == _rcv_nxt && !s.fin)) {
            continue; // wholly covered by what was delivered
        }
        s.payload.narrow(_rcv_nxt - s.seq, s.payload.size());
        deliver(std::move(s.payload), s.fin, now);
    }
    if (filled_gap) {
        _ack_now = true; // RFC 5681 4.2: ACK at once when a gap is filled
    } else if (++_segments_unacked >= 2) {
        _ack_now = true; // RFC 9293 3.8.6.3: at least every second segment
    } else if (_delack_deadline == 0) {
        _delack_deadline = now + _stack.config().delayed_ack;
    }
}

void tcp_connection::deliver(packet_buffer payload, bool fin, time_us now) {
    if (_fin_received) {
        return;
    }
    if (!payload.empty()) {
        _rcv_nxt += uint32_t(payload.size());
        if (_app_attached) {
            _events->on_data(_stack, _id, std::move(payload));
        }
    }
    if (fin && _state != tcp_state::closed) {
        on_fin(now);
    }
}

void tcp_connection::on_fin(time_us now) {
    _rcv_nxt += 1;
    _fin_received = true;
    _ack_now = true;
    _out_of_order.clear();
    if (_state == tcp_state::established) {
        _state = tcp_state::close_wait;
        if (_app_attached) {
            _events->on_peer_closed(_stack, _id);
        }
        return;
    }
    if (_app_attached) {
        _events->on_peer_closed(_stack, _id);
        if (_state == tcp_state::closed) {
            return;
        }
    }
    if (_state == tcp_state::fin_wait_1) {
        _state = tcp_state::closing; // simultaneous close: our FIN is not acked yet
    } else if (_state == tcp_state::fin_wait_2) {
        enter_time_wait(now);
    }
}

} // namespace smbx::net
