// The requester's side of the MS-SMBD negotiate exchange (3.1.5.2, 3.1.5.7): what a client
// such as smbx-bench runs. Past the negotiate both peers follow the same rules, so the
// rest of smbd_connection serves either side.
#include <algorithm>

#include "common/log.hh"
#include "common/ntstatus.hh"
#include "rdma/smbd_connection.hh"

namespace smbx::rdma {

bool smbd_connection::start_requester(smbd_clock::time_point now) {
    _requester = true;
    // 3.1.5.2: the receive for the response goes up before the request goes out (the
    // negotiate messages use no credits); the negotiation timer bounds the wait. start()
    // does both, as for the listener's receive of the request.
    if (!start(now)) {
        return false;
    }
    negotiate_request req;
    req.credits_requested = _settings.send_credit_target;
    req.preferred_send_size = _settings.max_send_size;
    req.max_receive_size = _settings.max_receive_size;
    req.max_fragmented_size = _settings.max_fragmented_recv_size;
    byte_writer w;
    write_negotiate_request(w, req);
    if (!_port.post_send(w.buffer(), {}, {}, std::nullopt)) {
        terminate("could not post the negotiate request");
        return false;
    }
    ++_sends_in_flight;
    return true;
}

void smbd_connection::handle_negotiate_response(byte_span message) {
    auto rsp = parse_negotiate_response(message);
    if (!rsp) {
        terminate("negotiate response shorter than 32 bytes");
        return;
    }
    // 3.1.5.7: a refusal, another version, no credits or limits below the protocol's
    // minimums end the connection.
    if (rsp->status != status::success) {
        LOG_NOTICE("smbd %s: the peer refused the negotiate: status 0x%08x", _peer.c_str(),
                   rsp->status);
        terminate("negotiate refused by the peer");
        return;
    }
    if (rsp->negotiated_version != smbd_version_1 || rsp->credits_granted == 0 ||
        rsp->max_receive_size < smbd_min_receive_size ||
        rsp->max_fragmented_size < smbd_min_fragmented_size) {
        LOG_NOTICE("smbd %s: negotiate response out of range: version 0x%04x, "
                   "CreditsGranted %u, MaxReceiveSize %u, MaxFragmentedSize %u",
                   _peer.c_str(), rsp->negotiated_version, rsp->credits_granted,
                   rsp->max_receive_size, rsp->max_fragmented_size);
        terminate("invalid negotiate response");
        return;
    }
    // Send no more than the peer receives; receive up to what we announced (the peer
    // sends at most min(its PreferredSendSize, our MaxReceiveSize)); fragment up to what
    // it reassembles; RDMA transfers no larger than both sides allow.
    smbd_negotiated& n = _negotiated;
    n.max_send_size = std::min(_settings.max_send_size, rsp->max_receive_size);
    n.max_receive_size = _settings.max_receive_size;
    n.max_fragmented_send_size = rsp->max_fragmented_size;
    n.max_fragmented_recv_size = _settings.max_fragmented_recv_size;
    n.max_read_write_size = std::min(_settings.max_read_write_size, rsp->max_read_write_size);
    n.peer_credits_requested = rsp->credits_requested;
    n.credits_granted = rsp->credits_granted;
    if (n.max_send_size <= data_transfer_header_size) {
        terminate("negotiated send size leaves no room for a payload");
        return;
    }
    _send_credits = rsp->credits_granted;
    _receive_credit_target =
        std::max(1, std::min<int>(rsp->credits_requested, _settings.receive_credit_max));
    _reassembly.set_max_size(n.max_fragmented_recv_size);
    // 3.1.5.9: the receives the first data transfer message will grant.
    replenish_receives(false);
    if (_posted_receives == 0) {
        terminate("no receive buffer could be posted after the negotiate");
        return;
    }
    _state = state::established;
    _deadline = _now + _settings.keepalive_interval;
    LOG_INFO("smbd %s: negotiated v1.0 as requester: send %u, receive %u, fragmented send "
             "%u / receive %u, read/write %u, granted %u send credits, peer asks for %u",
             _peer.c_str(), n.max_send_size, n.max_receive_size, n.max_fragmented_send_size,
             n.max_fragmented_recv_size, n.max_read_write_size, n.credits_granted,
             n.peer_credits_requested);
    _events.on_established();
}

} // namespace smbx::rdma
