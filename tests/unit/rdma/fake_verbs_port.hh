// An in-process verbs_port for the SMB Direct engine's tests and fuzz target: it records
// what the engine posts and lets the test deliver completions, the way a queue pair
// would (in order, never from inside a post). Client memory for RDMA is a byte map.
#pragma once

#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "rdma/smbd_connection.hh"
#include "rdma/verbs_port.hh"

namespace smbx::rdma::testing {

struct fake_send {
    bytes data; // header + payload as it would go on the wire
    std::optional<uint32_t> invalidate_token;
};

struct fake_rdma_wr {
    uint64_t wr_id;
    bool read; // RDMA READ (client -> local) or RDMA WRITE (local -> client)
    buffer_descriptor_v1 remote;
    std::span<uint8_t> local;
};

class fake_verbs_port : public verbs_port {
public:
    // Capacities, as a queue pair's receive buffers and send queue would have.
    size_t receive_buffers = 1024;
    size_t send_slots = 1024;
    size_t rdma_slots = 1024;

    size_t posted_receives = 0;
    std::vector<fake_send> sent;         // every send ever posted, in order
    size_t sends_completed = 0;          // sent[0 .. sends_completed) are done
    std::deque<fake_rdma_wr> rdma_queue; // posted, not completed
    int disconnect_calls = 0;
    // Client memory that RDMA READ reads and RDMA WRITE writes, by (token, offset).
    std::map<uint32_t, bytes> client_memory;

    bool post_recv() override {
        if (disconnect_calls || posted_receives >= receive_buffers) {
            return false;
        }
        ++posted_receives;
        return true;
    }
    bool post_send(byte_span header, byte_span body1, byte_span body2,
                   std::optional<uint32_t> invalidate_token) override {
        if (disconnect_calls || sends_in_flight() >= send_slots) {
            return false;
        }
        fake_send s{{header.begin(), header.end()}, invalidate_token};
        s.data.insert(s.data.end(), body1.begin(), body1.end());
        s.data.insert(s.data.end(), body2.begin(), body2.end());
        sent.push_back(std::move(s));
        return true;
    }
    bool post_rdma_read(uint64_t wr_id, const buffer_descriptor_v1& remote,
                        std::span<uint8_t> local) override {
        return post_rdma({wr_id, true, remote, local});
    }
    bool post_rdma_write(uint64_t wr_id, const buffer_descriptor_v1& remote,
                         byte_span local) override {
        return post_rdma({wr_id, false, remote,
                          std::span<uint8_t>(const_cast<uint8_t*>(local.data()), local.size())});
    }
    void disconnect() override { ++disconnect_calls; }

    size_t sends_in_flight() const { return sent.size() - sends_completed; }

    // --- the test's side of the wire
    // A message from the client lands in a posted receive. No receive posted: what RC
    // hardware does after its RNR retries, a receive error.
    void deliver(smbd_connection& c, byte_span msg) {
        if (posted_receives == 0) {
            return; // nothing to land in; the engine sees nothing
        }
        --posted_receives;
        c.on_receive(msg);
    }
    // Completes the sends in flight now (not those their completions let through).
    void complete_sends(smbd_connection& c, bool ok = true) {
        const size_t until = sent.size();
        while (sends_completed < until) {
            ++sends_completed;
            c.on_send_done(ok);
        }
    }
    // Completes the oldest RDMA work request, moving the bytes when ok.
    void complete_rdma(smbd_connection& c, bool ok = true) {
        fake_rdma_wr wr = rdma_queue.front();
        rdma_queue.pop_front();
        if (ok) {
            bytes& mem = client_memory[wr.remote.token];
            if (mem.size() < wr.remote.offset + wr.local.size()) {
                mem.resize(wr.remote.offset + wr.local.size());
            }
            if (wr.read) {
                std::memcpy(wr.local.data(), mem.data() + wr.remote.offset, wr.local.size());
            } else {
                std::memcpy(mem.data() + wr.remote.offset, wr.local.data(), wr.local.size());
            }
        }
        c.on_rdma_done(wr.wr_id, ok);
    }
    // After disconnect(): every posted work request comes back flushed, as from a queue
    // pair in the error state.
    void flush(smbd_connection& c) {
        complete_sends(c, false);
        while (!rdma_queue.empty()) {
            complete_rdma(c, false);
        }
        while (posted_receives > 0) {
            --posted_receives;
            c.on_receive_error();
        }
    }

private:
    bool post_rdma(fake_rdma_wr wr) {
        if (disconnect_calls || rdma_queue.size() >= rdma_slots) {
            return false;
        }
        rdma_queue.push_back(wr);
        return true;
    }
};

} // namespace smbx::rdma::testing
