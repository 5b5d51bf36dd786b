#include "rdma/smbd_rdma_transfers.hh"

#include <algorithm>

namespace smbx::rdma {

void rdma_transfer_table::add(direction dir, std::span<const buffer_descriptor_v1> remote,
                              std::span<uint8_t> local, rdma_callback done) {
    uint64_t id = _next_id++;
    transfer t{dir, {remote.begin(), remote.end()}, local, std::move(done)};
    _transfers.emplace(id, std::move(t));
    _to_post.push_back(id);
}

int rdma_transfer_table::post(verbs_port& port) {
    int posted = 0;
    while (!_to_post.empty()) {
        uint64_t id = _to_post.front();
        transfer& t = _transfers.at(id);
        while (!t.all_posted()) {
            const buffer_descriptor_v1& d = t.remote[t.next];
            size_t n = std::min<size_t>(d.length, t.local.size() - t.offset);
            auto piece = t.local.subspan(t.offset, n);
            bool ok = t.dir == direction::read_from_client ? port.post_rdma_read(id, d, piece)
                                                           : port.post_rdma_write(id, d, piece);
            if (!ok) {
                return posted; // send queue full: resume on the next completion
            }
            ++t.next;
            t.offset += n;
            ++t.posted;
            ++_in_flight;
            ++posted;
        }
        _to_post.pop_front();
    }
    return posted;
}

std::function<void()> rdma_transfer_table::complete(uint64_t wr_id, bool ok) {
    auto it = _transfers.find(wr_id);
    if (it == _transfers.end() || it->second.posted == 0) {
        return {}; // not ours (or a duplicate): never hand a buffer back twice
    }
    transfer& t = it->second;
    --t.posted;
    --_in_flight;
    if (!ok) {
        t.failed = true;
    }
    // A failed transfer still waits for its other work requests: the buffer is the
    // caller's again only when the hardware no longer touches it.
    if (t.posted > 0 || (!t.all_posted() && !t.failed)) {
        return {};
    }
    if (!t.all_posted()) {
        std::erase(_to_post, wr_id); // failed half-way: post nothing more
    }
    bool success = !t.failed;
    rdma_callback done = std::move(t.done);
    _transfers.erase(it);
    return [done = std::move(done), success] { done(success); };
}

std::vector<rdma_callback> rdma_transfer_table::cancel_unposted() {
    std::vector<rdma_callback> out;
    for (auto it = _transfers.begin(); it != _transfers.end();) {
        transfer& t = it->second;
        if (t.posted == 0) {
            out.push_back(std::move(t.done));
            it = _transfers.erase(it);
        } else {
            t.failed = true;
            t.next = t.remote.size(); // post nothing more; wait for the flushes
            ++it;
        }
    }
    _to_post.clear();
    return out;
}

} // namespace smbx::rdma
