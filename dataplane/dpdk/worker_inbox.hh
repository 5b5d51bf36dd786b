// What the other workers' DPDK transports hand to one worker's transport: received
// frames of flows this worker's stack owns (net/flow_steering.hh) and neighbours their
// stacks learned from ARP (stack::neighbor_observer). Any thread puts, in batches (one
// lock per burst, not per frame); the owning worker takes everything at once when
// pending() says there is something, which costs one relaxed load per poll otherwise.
#pragma once

#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

#include "dataplane/net/net_types.hh"
#include "dataplane/net/packet_buffer.hh"

namespace smbx::dpdk {

class worker_inbox {
public:
    struct batch {
        std::vector<net::packet_buffer> frames;
        std::vector<std::pair<net::ipv4_address, net::mac_address>> neighbors;
    };

    // Moves every frame out of `frames` (left empty).
    void put_frames(std::vector<net::packet_buffer>& frames) {
        std::lock_guard lock(_mutex);
        for (auto& f : frames) {
            _batch.frames.push_back(std::move(f));
        }
        frames.clear();
        _pending.store(true, std::memory_order_release);
    }
    void put_neighbor(net::ipv4_address ip, const net::mac_address& mac) {
        std::lock_guard lock(_mutex);
        _batch.neighbors.emplace_back(ip, mac);
        _pending.store(true, std::memory_order_release);
    }
    bool pending() const { return _pending.load(std::memory_order_acquire); }
    // Swaps the queued batch into `out` (whose previous contents the caller cleared).
    void take(batch& out) {
        std::lock_guard lock(_mutex);
        std::swap(out, _batch);
        _pending.store(false, std::memory_order_relaxed);
    }

private:
    std::mutex _mutex;
    batch _batch;
    std::atomic<bool> _pending{false};
};

} // namespace smbx::dpdk
