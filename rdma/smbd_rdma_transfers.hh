// RDMA READ and RDMA WRITE transfers against client buffers (SMB2_CHANNEL_RDMA_V1,
// MS-SMB2 3.3.5.12 / 3.3.5.13): one transfer covers one SMB2 READ or WRITE, one work
// request per SMB_DIRECT_BUFFER_DESCRIPTOR_V1. The table posts them in order as the send
// queue has room and calls each transfer's callback exactly once, after the hardware is
// done with the local buffer (its last work request completed, or was flushed).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>
#include <unordered_map>
#include <vector>

#include "rdma/smbd_messages.hh"
#include "rdma/verbs_port.hh"

namespace smbx::rdma {

// ok: every byte moved. false: the connection failed or was closed first.
using rdma_callback = std::function<void(bool ok)>;

class rdma_transfer_table {
public:
    enum class direction { read_from_client, write_to_client };

    // Queues a transfer; the caller has validated the descriptors and lengths.
    void add(direction dir, std::span<const buffer_descriptor_v1> remote, std::span<uint8_t> local,
             rdma_callback done);
    // Posts queued work requests while the port accepts them; returns how many.
    int post(verbs_port& port);
    // A work request completed. Returns the callback to run (and the status) when it was
    // the transfer's last outstanding one, else an empty function.
    std::function<void()> complete(uint64_t wr_id, bool ok);
    // Teardown: transfers with nothing posted yet are removed and their callbacks
    // returned (to be called with false); posted ones wait for their flush completions.
    std::vector<rdma_callback> cancel_unposted();

    size_t work_requests_in_flight() const { return _in_flight; }
    size_t transfers() const { return _transfers.size(); }

private:
    struct transfer {
        direction dir;
        std::vector<buffer_descriptor_v1> remote;
        std::span<uint8_t> local;
        rdma_callback done;
        size_t next = 0;   // next descriptor to post
        size_t offset = 0; // bytes of local covered by posted descriptors
        size_t posted = 0; // work requests posted and not yet completed
        bool failed = false;
        bool all_posted() const { return next == remote.size() || offset == local.size(); }
    };

    uint64_t _next_id = 1;
    std::unordered_map<uint64_t, transfer> _transfers;
    std::deque<uint64_t> _to_post; // transfers with descriptors still to post, in order
    size_t _in_flight = 0;
};

} // namespace smbx::rdma
