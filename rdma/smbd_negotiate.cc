// The listener's side of the MS-SMBD negotiate exchange (3.1.5.6, 3.1.5.3).
#include <algorithm>

#include "common/log.hh"
#include "common/ntstatus.hh"
#include "rdma/smbd_connection.hh"

namespace smbx::rdma {

void smbd_connection::handle_negotiate(byte_span message) {
    auto req = parse_negotiate_request(message);
    if (!req) {
        terminate("negotiate request shorter than 20 bytes");
        return;
    }
    if (req->min_version > smbd_version_1 || req->max_version < smbd_version_1) {
        LOG_NOTICE("smbd %s: negotiate offers versions 0x%04x-0x%04x, not 0x0100", _peer.c_str(),
                   req->min_version, req->max_version);
        refuse_negotiate(status::not_supported);
        return;
    }
    if (req->credits_requested == 0 || req->max_receive_size < smbd_min_receive_size ||
        req->max_fragmented_size < smbd_min_fragmented_size) {
        LOG_NOTICE("smbd %s: negotiate request out of range: CreditsRequested %u "
                   "MaxReceiveSize %u MaxFragmentedSize %u",
                   _peer.c_str(), req->credits_requested, req->max_receive_size,
                   req->max_fragmented_size);
        terminate("invalid negotiate request");
        return;
    }
    // 3.1.5.6: receive no more than the peer prefers to send (at least 128); send no
    // more than it can receive; fragment up to what it can reassemble.
    smbd_negotiated& n = _negotiated;
    n.max_receive_size = std::max(smbd_min_receive_size,
                                  std::min(_settings.max_receive_size, req->preferred_send_size));
    n.max_send_size = std::min(_settings.max_send_size, req->max_receive_size);
    n.max_fragmented_send_size = req->max_fragmented_size;
    n.max_fragmented_recv_size = _settings.max_fragmented_recv_size;
    n.max_read_write_size = _settings.max_read_write_size;
    n.peer_credits_requested = req->credits_requested;
    _receive_credit_target = std::min<int>(req->credits_requested, _settings.receive_credit_max);
    _reassembly.set_max_size(n.max_fragmented_recv_size);

    // 3.1.5.9 initialises the receives; none at all -> STATUS_INSUFFICIENT_RESOURCES.
    replenish_receives(false);
    if (_posted_receives == 0) {
        refuse_negotiate(status::insufficient_resources);
        return;
    }
    negotiate_response rsp;
    rsp.negotiated_version = smbd_version_1;
    rsp.credits_requested = _settings.send_credit_target;
    rsp.credits_granted = uint16_t(std::min(_ungranted, 0xFFFF));
    rsp.status = status::success;
    rsp.max_read_write_size = n.max_read_write_size;
    rsp.preferred_send_size = n.max_send_size;
    rsp.max_receive_size = n.max_receive_size;
    rsp.max_fragmented_size = n.max_fragmented_recv_size;
    byte_writer w;
    write_negotiate_response(w, rsp);
    // The negotiate response uses no send credit: the initiator posted a receive for it
    // before sending its request (3.1.5.2).
    if (!_port.post_send(w.buffer(), {}, {}, std::nullopt)) {
        terminate("could not post the negotiate response");
        return;
    }
    ++_sends_in_flight;
    _ungranted -= rsp.credits_granted;
    n.credits_granted = rsp.credits_granted;
    _state = state::established;
    _deadline = _now + _settings.keepalive_interval;
    LOG_INFO("smbd %s: negotiated v1.0: send %u, receive %u, fragmented send %u / receive %u, "
             "read/write %u, peer requests %u credits, granted %u",
             _peer.c_str(), n.max_send_size, n.max_receive_size, n.max_fragmented_send_size,
             n.max_fragmented_recv_size, n.max_read_write_size, n.peer_credits_requested,
             n.credits_granted);
    _events.on_established();
}

void smbd_connection::refuse_negotiate(uint32_t refusal) {
    // 3.1.5.3: MinVersion and MaxVersion 0x0100, the status, every other field zero,
    // then a graceful termination once the reply is out.
    negotiate_response rsp{};
    rsp.min_version = smbd_version_1;
    rsp.max_version = smbd_version_1;
    rsp.status = refusal;
    byte_writer w;
    write_negotiate_response(w, rsp);
    if (!_port.post_send(w.buffer(), {}, {}, std::nullopt)) {
        terminate("could not post the negotiate refusal");
        return;
    }
    ++_sends_in_flight;
    _state = state::refusing;
    _deadline = _now + _settings.negotiate_timeout; // bound the wait for the send
}

} // namespace smbx::rdma
