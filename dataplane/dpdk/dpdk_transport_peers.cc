// dpdk_transport with several workers on one port: steering received TCP segments to
// the worker whose stack owns the flow, and sharing what one stack learns from ARP.
#include "common/log.hh"
#include "dataplane/dpdk/dpdk_transport.hh"
#include "dataplane/net/flow_steering.hh"

namespace smbx::dpdk {

void dpdk_transport::set_peers(std::vector<dpdk_transport*> peers) {
    _peers = std::move(peers);
    _outbox.clear();
    _outbox.resize(_peers.size());
    if (_peers.size() > 1) {
        _stack->set_neighbor_observer(this);
    }
}

net::frame_receiver& dpdk_transport::local_receiver() {
    return _impaired ? static_cast<net::frame_receiver&>(*_impaired) : *_stack;
}

net::frame_receiver& dpdk_transport::rx_target() {
    return _peers.size() > 1 ? static_cast<net::frame_receiver&>(_steer) : local_receiver();
}

void dpdk_transport::steering_receiver::receive(net::packet_buffer frame, net::time_us now) {
    auto owner = net::segment_owner(frame.bytes(), _t._peers.size());
    if (!owner || *owner == _t._queue) {
        _t.local_receiver().receive(std::move(frame), now);
        return;
    }
    // The mbuf itself moves: the owner's stack frees it (mempools are thread-safe).
    _t._outbox[*owner].push_back(std::move(frame));
    ++_t._frames_steered_out;
}

void dpdk_transport::send_outbox() {
    for (size_t i = 0; i < _outbox.size(); ++i) {
        if (!_outbox[i].empty()) {
            _peers[i]->_inbox.put_frames(_outbox[i]);
            _peers[i]->_worker.wake();
        }
    }
}

unsigned dpdk_transport::drain_inbox(net::time_us now) {
    _taken.frames.clear();
    _taken.neighbors.clear();
    _inbox.take(_taken);
    // Neighbours first: a steered segment may need the route they give.
    for (auto& [ip, mac] : _taken.neighbors) {
        _stack->learn_neighbor(ip, mac, now);
    }
    for (auto& f : _taken.frames) {
        local_receiver().receive(std::move(f), now);
    }
    _frames_steered_in += _taken.frames.size();
    return unsigned(_taken.frames.size() + _taken.neighbors.size());
}

void dpdk_transport::on_neighbor_learned(net::ipv4_address ip, const net::mac_address& mac) {
    // Rare (a new or moved neighbour): one lock per peer is fine here.
    for (auto* peer : _peers) {
        if (peer != this) {
            peer->_inbox.put_neighbor(ip, mac);
            peer->_worker.wake();
        }
    }
    ++_neighbors_shared;
    LOG_INFO("dpdk: worker %u learned %s is at %s; passed to the other workers", _worker.index(),
             ip.to_string().c_str(), mac.to_string().c_str());
}

} // namespace smbx::dpdk
