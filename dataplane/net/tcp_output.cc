// Segment transmission for one connection: what the send and congestion windows allow
// (RFC 9293 3.8.6.2.1 sender-side silly window avoidance; no Nagle, since SMB sends
// whole messages), payload attached from the application's blocks without copying.
#include <algorithm>

#include "dataplane/net/stack.hh"
#include "dataplane/net/tcp_seq.hh"

namespace smbx::net {

namespace {
constexpr uint64_t max_queued_bytes = 1u << 30; // keeps sequence arithmetic unambiguous
} // namespace

uint32_t tcp_connection::effective_mss() const {
    // RFC 9293 3.7.1: the MSS excludes options, so options shrink the payload.
    return _snd_mss - (_ts_ok ? uint32_t(tcp_timestamp_option_size) : 0);
}

uint16_t tcp_connection::window_field(bool syn) const {
    if (syn) {
        return uint16_t(std::min<uint32_t>(_rcv_wnd, 0xffff)); // RFC 7323 2.2
    }
    return uint16_t(std::min<uint32_t>(_rcv_wnd >> _rcv_wscale, 0xffff));
}

std::deque<tx_block*>::iterator tcp_connection::locate(uint32_t seq, uint32_t& block_seq) {
    size_t i = 0;
    uint32_t s = _queue_seq;
    if (_cursor_index < _send_queue.size() && seq_ge(seq, _cursor_seq)) {
        i = _cursor_index;
        s = _cursor_seq;
    }
    while (i < _send_queue.size() && seq_ge(seq, s + uint32_t(_send_queue[i]->size()))) {
        s += uint32_t(_send_queue[i]->size());
        ++i;
    }
    _cursor_index = i;
    _cursor_seq = s;
    block_seq = s;
    return _send_queue.begin() + long(i);
}

// Sends up to `len` bytes from `seq` (fewer if the frame runs out of fragments), with
// FIN if asked and the data reaches the end of the queue. Returns the sequence space
// the segment covers. With the next hop unresolved nothing leaves, but the segment
// counts as sent: retransmission resends it once ARP answers.
uint32_t tcp_connection::transmit(uint32_t seq, uint32_t len, bool fin, time_us now) {
    auto& counters = _stack.counters_mut();
    tx_frame* f = _stack.begin_ipv4_frame(_key.remote_ip);
    uint32_t sent = 0;
    if (len > 0 && seq_lt(seq, data_end())) {
        len = std::min(len, data_end() - seq);
        if (!f) {
            sent = len;
        } else {
            uint32_t block_seq;
            auto it = locate(seq, block_seq);
            while (sent < len && it != _send_queue.end() &&
                   f->fragment_count < tx_frame::max_fragments) {
                uint32_t offset = seq + sent - block_seq;
                uint32_t n = std::min<uint32_t>(len - sent, uint32_t((*it)->size()) - offset);
                if (n > 0) {
                    _stack.add_payload(f, (*it)->data() + offset, n, *it);
                }
                sent += n;
                block_seq += uint32_t((*it)->size());
                ++it;
            }
        }
    }
    bool with_fin = fin && seq + sent == data_end();
    if (f) {
        finish_segment(f, seq,
                       tcp_flag::ack | (with_fin ? tcp_flag::fin : 0) |
                           (sent > 0 && seq + sent == data_end() ? tcp_flag::psh : 0),
                       now);
    }
    if ((sent > 0 || with_fin) && seq_lt(seq, _snd_max)) {
        ++counters.tcp_retransmits;
    }
    ack_sent();
    return sent + (with_fin ? 1 : 0);
}

// Writes the TCP header of a non-SYN segment (ACK of RCV.NXT, our window, timestamps
// when negotiated) and finishes the frame.
void tcp_connection::finish_segment(tx_frame* f, uint32_t seq, uint8_t flags, time_us now) {
    tcp_header h;
    h.src_port = _key.local_port;
    h.dst_port = _key.remote_port;
    h.seq = seq;
    h.ack = _rcv_nxt;
    h.flags = flags;
    h.window = window_field(false);
    tcp_options o;
    if (_ts_ok) {
        o.has_timestamps = true;
        o.ts_value = ts_clock(now);
        o.ts_echo = _ts_recent;
    }
    f->header_size += uint16_t(write_tcp(f->header.data() + stack::l4_offset, h, o));
    _stack.finish_tcp_frame(f, _key.remote_ip);
}

// Any segment we send acknowledges RCV.NXT: no ACK is owed any more.
void tcp_connection::ack_sent() {
    _last_ack_sent = _rcv_nxt;
    _ack_now = false;
    _segments_unacked = 0;
    _delack_deadline = 0;
}

void tcp_connection::send_syn(time_us now) {
    if (_snd_max != _iss + 1 || _retries > 0) {
        ++_stack.counters_mut().tcp_retransmits;
    }
    tx_frame* f = _stack.begin_ipv4_frame(_key.remote_ip);
    if (!f) {
        return;
    }
    const auto& cfg = _stack.config();
    tcp_header h;
    h.src_port = _key.local_port;
    h.dst_port = _key.remote_port;
    h.seq = _iss;
    bool ack = _state == tcp_state::syn_received;
    h.ack = ack ? _rcv_nxt : 0;
    h.flags = tcp_flag::syn | (ack ? tcp_flag::ack : 0);
    h.window = window_field(true);
    tcp_options o;
    o.mss = tcp_mss_for_mtu(cfg.mtu);
    if (_active_open || _wscale_ok) {
        o.window_scale = _rcv_wscale;
    }
    if (_active_open || _ts_ok) {
        o.has_timestamps = true;
        o.ts_value = ts_clock(now);
        o.ts_echo = ack ? _ts_recent : 0;
    }
    f->header_size += uint16_t(write_tcp(f->header.data() + stack::l4_offset, h, o));
    _stack.finish_tcp_frame(f, _key.remote_ip);
    _last_ack_sent = _rcv_nxt;
}

void tcp_connection::send_ack(time_us now) {
    // A bare ACK at SND.NXT; it does not count as a retransmission.
    if (tx_frame* f = _stack.begin_ipv4_frame(_key.remote_ip)) {
        finish_segment(f, _snd_nxt, tcp_flag::ack, now);
    }
    ack_sent();
}

void tcp_connection::send_challenge_ack(time_us now) {
    // RFC 5961 suggests rate-limiting these; a bare ACK costs little here.
    ++_stack.counters_mut().tcp_challenge_acks;
    send_ack(now);
}

void tcp_connection::send_reset(uint32_t seq) {
    _stack.send_reset(_key, seq, 0, false);
}

bool tcp_connection::send(tx_block* block) {
    bool open = _state == tcp_state::established || _state == tcp_state::close_wait;
    if (!open || _fin_queued || _queued_bytes + block->size() > max_queued_bytes) {
        return false;
    }
    _send_queue.push_back(block);
    _queued_bytes += block->size();
    return true;
}

void tcp_connection::output(time_us now) {
    bool sending = _state == tcp_state::established || _state == tcp_state::close_wait ||
                   _state == tcp_state::fin_wait_1 || _state == tcp_state::closing ||
                   _state == tcp_state::last_ack;
    while (sending) {
        uint32_t end = data_end();
        uint32_t flight = _snd_nxt - _snd_una;
        if (seq_lt(_snd_nxt, end)) {
            uint32_t window = std::min(_snd_wnd, _cc.cwnd());
            if (flight >= window) {
                if (_snd_wnd == 0 && flight == 0 && _rto_deadline == 0) {
                    arm_retransmit(now); // persist timer (RFC 9293 3.8.6.1)
                }
                break;
            }
            uint32_t mss = effective_mss();
            uint32_t avail = end - _snd_nxt;
            uint32_t len = std::min({avail, window - flight, mss});
            // Sender SWS avoidance: a full segment, all that is queued, or half the
            // largest window the peer has offered.
            if (len < mss && len < avail && len < _max_snd_wnd / 2) {
                break;
            }
            bool new_data = _snd_nxt == _snd_max;
            uint32_t used = transmit(_snd_nxt, len, _fin_queued, now);
            if (new_data && !_ts_ok && !_rtt_timing) {
                _rtt_timing = true; // Karn: only segments sent once are timed
                _rtt_seq = _snd_nxt + used;
                _rtt_start = now;
            }
            _snd_nxt += used;
            _snd_max = seq_max(_snd_max, _snd_nxt);
            if (_rto_deadline == 0) {
                arm_retransmit(now);
            }
            continue;
        }
        if (_fin_queued && _snd_nxt == end) {
            _snd_nxt += transmit(_snd_nxt, 0, true, now);
            _snd_max = seq_max(_snd_max, _snd_nxt);
            if (_rto_deadline == 0) {
                arm_retransmit(now);
            }
        }
        break;
    }
    if (_ack_now && _state != tcp_state::closed && _state != tcp_state::syn_sent &&
        _state != tcp_state::syn_received) {
        send_ack(now);
    }
}

} // namespace smbx::net
