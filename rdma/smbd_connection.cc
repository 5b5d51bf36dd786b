#include "rdma/smbd_connection.hh"

#include <algorithm>

#include "common/log.hh"

namespace smbx::rdma {

const char* to_string(smbd_connection::state s) {
    switch (s) {
    case smbd_connection::state::negotiating:
        return "negotiating";
    case smbd_connection::state::refusing:
        return "refusing";
    case smbd_connection::state::established:
        return "established";
    case smbd_connection::state::disconnecting:
        return "disconnecting";
    case smbd_connection::state::closed:
        return "closed";
    }
    return "?";
}

smbd_connection::smbd_connection(verbs_port& port, smbd_connection_events& events,
                                 const smbd_settings& settings, std::string peer)
    : _port(port), _events(events), _settings(settings), _peer(std::move(peer)),
      _reassembly(settings.max_fragmented_recv_size) {}

bool smbd_connection::start(smbd_clock::time_point now) {
    _now = now;
    _deadline = now + _settings.negotiate_timeout;
    if (!_port.post_recv()) {
        _state = state::closed;
        return false;
    }
    ++_posted_receives;
    return true;
}

smbd_connection::send_result smbd_connection::send_message(bytes head, byte_span payload,
                                                           std::shared_ptr<const void> owner,
                                                           std::optional<uint32_t> token) {
    if (_state != state::established) {
        return send_result::not_connected;
    }
    // 3.1.4.2: a message longer than Connection.MaxFragmentedSendSize cannot be sent.
    if (head.size() + payload.size() > _negotiated.max_fragmented_send_size) {
        return send_result::too_large;
    }
    _send_queue.push_back({std::move(head), payload, std::move(owner), token});
    pump(false);
    return send_result::queued;
}

void smbd_connection::close(const char* reason) {
    terminate(reason);
    check_drained();
}

void smbd_connection::on_receive(byte_span message) {
    if (_posted_receives > 0) {
        --_posted_receives;
    }
    if (_state == state::negotiating) {
        if (_requester) {
            handle_negotiate_response(message);
        } else {
            handle_negotiate(message);
        }
    } else if (_state == state::established) {
        handle_data_transfer(message);
    } // else: arrived while refusing or tearing down; dropped
    check_drained();
}

void smbd_connection::on_receive_error() {
    if (_posted_receives > 0) {
        --_posted_receives;
    }
    terminate("receive failed (queue pair in error)");
    check_drained();
}

void smbd_connection::on_send_done(bool ok) {
    if (_sends_in_flight > 0) {
        --_sends_in_flight;
    }
    if (!ok) {
        terminate("send failed (queue pair in error)");
    } else if (_state == state::refusing) {
        terminate("negotiate refused"); // 3.1.5.3: graceful termination after the reply
    } else {
        pump(false); // a send slot is free again
    }
    check_drained();
}

void smbd_connection::on_rdma_done(uint64_t wr_id, bool ok) {
    auto finish = _rdma.complete(wr_id, ok);
    if (!ok) {
        terminate("RDMA transfer failed");
    } else {
        pump(false);
    }
    if (finish) {
        finish();
    }
    check_drained();
}

void smbd_connection::on_peer_disconnected() {
    terminate("peer disconnected");
    check_drained();
}

int smbd_connection::poll(smbd_clock::time_point now) {
    _now = now;
    int work = 0;
    if (now >= _deadline) {
        if (_state == state::negotiating) {
            terminate("no negotiate request in time (3.1.2.1)");
            ++work;
        } else if (_state == state::refusing) {
            terminate("negotiate refused");
            ++work;
        } else if (_state == state::established) {
            // 3.1.2.2: idle for keepalive_interval -> ask for a response; no message
            // from the peer within keepalive_timeout after that -> disconnect.
            if (_keepalive != keepalive::none) {
                terminate("keepalive not answered");
            } else {
                _keepalive = keepalive::pending;
                _deadline = now + _settings.keepalive_timeout;
            }
            ++work;
        }
    }
    work += pump(true);
    check_drained();
    return work;
}

void smbd_connection::handle_data_transfer(byte_span message) {
    // The port's receive buffers hold settings.max_receive_size bytes; the peer agreed
    // to send no more than the negotiated MaxReceiveSize (3.1.5.6).
    if (message.size() > _negotiated.max_receive_size) {
        LOG_NOTICE("smbd %s: %zu-byte message above MaxReceiveSize %u", _peer.c_str(),
                   message.size(), _negotiated.max_receive_size);
        terminate("oversized message");
        return;
    }
    data_transfer_message m;
    if (auto err = parse_data_transfer(message, m); err != data_transfer_error::none) {
        LOG_NOTICE("smbd %s: bad data transfer message: %s", _peer.c_str(), describe(err));
        terminate("malformed data transfer message");
        return;
    }
    const data_transfer_header& h = m.header;
    if (h.credits_requested == 0) { // 3.1.5.8
        terminate("data transfer message requests no credits");
        return;
    }
    // The message landed in a receive posted but never granted: the peer sent without a
    // credit (3.1.5.1 forbids it).
    if (_posted_receives + 1 <= _ungranted) {
        terminate("peer sent beyond its credits");
        return;
    }
    _receive_credit_target = std::min<int>(h.credits_requested, _settings.receive_credit_max);
    if (h.flags & smbd_flag_response_requested) {
        // 3.1.5.8: answer promptly. The answer does not itself carry the flag (read
        // literally, 3.1.5.1 would set it, and two peers would then ping-pong keepalives).
        _send_immediate = true;
    }
    if (h.credits_granted) {
        // Bounded: a peer cannot grant more sends than it can have receives posted.
        _send_credits = std::min(_send_credits + int(h.credits_granted), 0xFFFF);
    }
    // Any message from the peer restarts the idle timer and answers a keepalive.
    _keepalive = keepalive::none;
    _deadline = _now + _settings.keepalive_interval;

    replenish_receives(false);
    if (_posted_receives == 0) {
        terminate("no receive buffer left to post (receive queue exhausted)");
        return;
    }

    bytes complete;
    if (!m.payload.empty()) {
        switch (_reassembly.add(m.payload, h.remaining_data_length)) {
        case fragment_reassembly::result::incomplete:
            break;
        case fragment_reassembly::result::complete:
            complete = _reassembly.take();
            break;
        case fragment_reassembly::result::too_large:
            LOG_NOTICE("smbd %s: message of %llu bytes above MaxFragmentedSize %u", _peer.c_str(),
                       static_cast<unsigned long long>(m.payload.size()) + h.remaining_data_length,
                       _negotiated.max_fragmented_recv_size);
            terminate("oversized fragmented message");
            return;
        case fragment_reassembly::result::inconsistent:
            terminate("RemainingDataLength does not continue the message in progress");
            return;
        }
    }
    pump(false); // new send credits may release queued messages
    if (!complete.empty() && _state == state::established) {
        _events.on_message(std::move(complete));
    }
}

int smbd_connection::replenish_receives(bool need_one) {
    // 3.1.5.9: keep Connection.ReceiveCredits at the peer's ReceiveCreditTarget (within
    // ReceiveCreditMax); with the last send credit, post at least one more so the next
    // message can grant a credit.
    const int want = std::min<int>(_receive_credit_target, _settings.receive_credit_max);
    int posted = 0;
    while (_posted_receives < want || (need_one && _ungranted == 0)) {
        if (!_port.post_recv()) {
            break;
        }
        ++_posted_receives;
        ++_ungranted;
        ++posted;
    }
    return posted;
}

bool smbd_connection::grant_due() const {
    // Credits are granted on the next message that goes out anyway; an otherwise empty
    // message is worth sending only once the peer runs low (below half of what it asked
    // for). Granting on every receive (3.1.5.8 read literally) makes two idle peers
    // trade empty credit messages forever.
    const int peer_holds = _posted_receives - _ungranted;
    return _ungranted > 0 && 2 * peer_holds < _receive_credit_target;
}

int smbd_connection::pump(bool flush) {
    if (_state != state::established) {
        return 0;
    }
    int work = _rdma.post(_port);
    // 3.1.5.1: with nothing queued and Connection.SendImmediate set, a new empty message
    // is queued. Empty messages wait for the end of a batch (flush), so that a response
    // the upper layer queues meanwhile carries the grant or the keepalive answer instead.
    if (flush && _send_queue.empty() &&
        (_send_immediate || _keepalive == keepalive::pending || grant_due())) {
        _send_queue.push_back({});
    }
    while (!_send_queue.empty() && send_one()) {
        ++work;
    }
    return work;
}

bool smbd_connection::send_one() {
    // 3.1.5.1, for the first message of Connection.SendQueue.
    if (_send_credits == 0) {
        return false;
    }
    replenish_receives(_send_credits == 1);
    const int grant = std::min(_ungranted, 0xFFFF);
    // The last-credit rule: never spend the last send credit on a message that grants
    // none, or neither side could ever send again.
    if (_send_credits == 1 && grant == 0) {
        return false;
    }
    outgoing& m = _send_queue.front();
    const size_t max_payload = _negotiated.max_send_size - data_transfer_header_size;
    const size_t left = m.size() - m.offset;
    const size_t n = std::min(left, max_payload);
    const uint32_t remaining = uint32_t(left - n);
    const uint16_t flags = _keepalive == keepalive::pending ? smbd_flag_response_requested : 0;

    byte_writer w(std::move(_header));
    w.buffer().clear();
    write_data_transfer_header(w, _settings.send_credit_target, uint16_t(grant), flags, remaining,
                               uint32_t(n));
    _header = w.take();
    // This fragment's bytes [offset, offset + n) of head + payload, as up to two pieces.
    const size_t end = m.offset + n, hs = m.head.size();
    byte_span from_head, from_payload;
    if (m.offset < hs) {
        from_head = byte_span(m.head).subspan(m.offset, std::min(end, hs) - m.offset);
    }
    if (end > hs) {
        const size_t at = std::max(m.offset, hs) - hs;
        from_payload = m.payload.subspan(at, end - hs - at);
    }
    auto token = remaining == 0 ? m.invalidate_token : std::nullopt;
    if (!_port.post_send(_header, from_head, from_payload, token)) {
        return false; // no send slot: retried when a send completes
    }
    --_send_credits;
    _ungranted -= grant;
    ++_sends_in_flight;
    _send_immediate = false;
    if (flags) {
        _keepalive = keepalive::sent;
    }
    m.offset += n;
    if (remaining == 0) {
        _send_queue.pop_front();
    }
    return true;
}

void smbd_connection::terminate(const char* reason) {
    if (_state == state::disconnecting || _state == state::closed) {
        return;
    }
    LOG_NOTICE("smbd %s: closing connection (%s): %s", _peer.c_str(), to_string(_state), reason);
    _state = state::disconnecting;
    _send_queue.clear();
    _reassembly.reset();
    auto cancelled = _rdma.cancel_unposted();
    _port.disconnect();
    for (auto& done : cancelled) {
        done(false);
    }
}

void smbd_connection::check_drained() {
    // Closed only when the hardware has given back every buffer: each posted receive,
    // send and RDMA work request has completed (successfully or flushed).
    if (_state == state::disconnecting && _posted_receives == 0 && _sends_in_flight == 0 &&
        _rdma.transfers() == 0) {
        _state = state::closed;
        _events.on_closed();
    }
}

} // namespace smbx::rdma
