// Timers and endings of one connection: retransmission (RFC 6298), persist, delayed ACK,
// keep-alive (RFC 1122 4.2.3.6), TIME-WAIT (RFC 9293 3.4.2), close and abort.
#include <algorithm>

#include "dataplane/net/stack.hh"
#include "dataplane/net/tcp_seq.hh"

namespace smbx::net {

time_us tcp_connection::next_deadline() const {
    time_us next = UINT64_MAX;
    for (time_us t : {_rto_deadline, _delack_deadline, _state_deadline}) {
        if (t != 0) {
            next = std::min(next, t);
        }
    }
    const auto& cfg = _stack.config();
    if (cfg.keepalive_idle > 0 &&
        (_state == tcp_state::established || _state == tcp_state::close_wait)) {
        next = std::min(next, _last_heard + cfg.keepalive_idle +
                                  _keepalive_sent * cfg.keepalive_interval);
    }
    return next;
}

void tcp_connection::on_timers(time_us now) {
    const auto& cfg = _stack.config();
    if (_state_deadline != 0 && now >= _state_deadline) {
        _state_deadline = 0;
        finish(_state == tcp_state::time_wait ? close_reason::normal : close_reason::timeout);
        return;
    }
    if (_delack_deadline != 0 && now >= _delack_deadline) {
        _delack_deadline = 0;
        _ack_now = true;
    }
    if (_rto_deadline != 0 && now >= _rto_deadline) {
        _rto_deadline = 0;
        on_retransmit_timeout(now);
        if (_state == tcp_state::closed) {
            return;
        }
    }
    bool idle = _snd_una == _snd_max;
    if (cfg.keepalive_idle > 0 && idle &&
        (_state == tcp_state::established || _state == tcp_state::close_wait) &&
        now >= _last_heard + cfg.keepalive_idle + _keepalive_sent * cfg.keepalive_interval) {
        if (_keepalive_sent >= cfg.keepalive_probes) {
            send_reset(_snd_nxt);
            finish(close_reason::timeout);
            return;
        }
        // RFC 1122 4.2.3.6: a segment with SEG.SEQ = SND.NXT - 1 draws an ACK.
        ++_keepalive_sent;
        ++_stack.counters_mut().tcp_keepalive_probes;
        uint32_t saved = _snd_nxt;
        _snd_nxt = _snd_una - 1;
        send_ack(now);
        _snd_nxt = saved;
    }
    output(now);
}

void tcp_connection::arm_retransmit(time_us now) {
    _rto_deadline = now + _rtt.rto();
}

void tcp_connection::on_retransmit_timeout(time_us now) {
    const auto& cfg = _stack.config();
    auto& counters = _stack.counters_mut();
    ++_retries;
    ++counters.tcp_timeouts;
    if (_state == tcp_state::syn_received || _state == tcp_state::syn_sent) {
        if (_retries > cfg.max_syn_ack_retransmits) {
            finish(close_reason::timeout);
            return;
        }
        _rtt.back_off();
        send_syn(now);
        arm_retransmit(now);
        return;
    }
    if (_snd_una == _snd_max) {
        // Nothing outstanding: the persist timer. Probe a zero window with one byte.
        --_retries;
        --counters.tcp_timeouts;
        if (_snd_wnd == 0 && (seq_lt(_snd_nxt, data_end()) || _fin_queued)) {
            _snd_nxt += transmit(_snd_nxt, 1, _fin_queued, now);
            _snd_max = seq_max(_snd_max, _snd_nxt);
            _rtt.back_off();
            arm_retransmit(now);
        }
        return;
    }
    if (_retries > cfg.max_retransmits) {
        send_reset(_snd_nxt);
        finish(close_reason::timeout);
        return;
    }
    // RFC 5681 3.1 (ssthresh, loss window), RFC 6298 5.4-5.6 (retransmit, back off).
    _cc.on_timeout(_snd_max - _snd_una, _snd_max);
    _rtt.back_off();
    _rtt_timing = false;
    _snd_nxt = _snd_una + transmit(_snd_una, effective_mss(), _fin_queued, now);
    arm_retransmit(now);
}

void tcp_connection::on_route_resolved(time_us now) {
    if (_state == tcp_state::syn_received || _state == tcp_state::syn_sent) {
        send_syn(now);
    } else if (_snd_una != _snd_max) {
        transmit(_snd_una, effective_mss(), _fin_queued, now);
    }
}

void tcp_connection::close(time_us now) {
    switch (_state) {
    case tcp_state::established:
        _state = tcp_state::fin_wait_1;
        break;
    case tcp_state::close_wait:
        _state = tcp_state::last_ack;
        break;
    case tcp_state::syn_sent:
        finish(close_reason::aborted);
        return;
    case tcp_state::syn_received:
        abort(now);
        return;
    default:
        return;
    }
    _fin_queued = true;
    _stack.mark_dirty(this);
}

void tcp_connection::abort(time_us) {
    if (_state == tcp_state::closed) {
        return;
    }
    if (_state != tcp_state::syn_sent && _state != tcp_state::time_wait) {
        send_reset(_snd_nxt); // RFC 9293 3.10.5
    }
    finish(close_reason::aborted);
}

void tcp_connection::enter_time_wait(time_us now) {
    _state = tcp_state::time_wait;
    _rto_deadline = 0;
    _delack_deadline = 0;
    _state_deadline = now + _stack.config().time_wait;
    _ack_now = true;
    // The application is done with the connection; TIME-WAIT only guards the tuple.
    detach_app(close_reason::normal);
}

void tcp_connection::leave_syn_received() {
    if (_in_backlog) {
        _in_backlog = false;
        _stack.backlog_release(_key.local_port);
    }
}

void tcp_connection::detach_app(close_reason reason) {
    if (!_app_attached) {
        return;
    }
    _app_attached = false;
    _stack.forget_id(_id);
    _events->on_closed(_stack, _id, reason);
}

void tcp_connection::finish(close_reason reason) {
    if (_state == tcp_state::closed) {
        return;
    }
    leave_syn_received();
    _state = tcp_state::closed;
    _rto_deadline = _delack_deadline = _state_deadline = 0;
    for (auto* b : _send_queue) {
        b->drop();
    }
    _send_queue.clear();
    _queued_bytes = 0;
    _out_of_order.clear();
    ++_stack.counters_mut().tcp_connections_closed;
    _stack.retire(this);
    detach_app(reason);
}

} // namespace smbx::net
