// SMB Direct as a client (MS-SMBD, the requester): an RDMA CM connection to the server's
// port (5445 by default in smbx-bench), one RC queue pair (rdma/verbs_queue_pair) and the
// shared engine (rdma/smbd_connection in requester mode) for negotiate, credits,
// fragmentation and reassembly. SMB2 messages go without the 4-byte length of Direct TCP
// (MS-SMB2 2.1).
//
// Like Windows, it registers its I/O buffers once: one memory region over `slots`
// buffers of `slot_size` bytes, with remote read and write, lent to READ and WRITE
// requests (lend/give_back) so that the server RDMA-WRITEs READ data into them and
// RDMA-READs WRITE data from them. No thread of its own: everything progresses inside
// the caller's send/receive/ready.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <rdma/rdma_cma.h>

#include "bench/smbx_bench/message_transport.hh"
#include "rdma/smbd_connection.hh"
#include "rdma/verbs_queue_pair.hh"

namespace smbx::bench {

struct smbd_client_settings {
    // SMB2_CHANNEL_RDMA_V1_INVALIDATE: each lent buffer is a type 2 memory window over
    // the one registration, bound per request and invalidated by the server's reply
    // (SEND with Invalidate); the server can reach a buffer only while it serves that
    // request. false: SMB2_CHANNEL_RDMA_V1, the registration's own rkey.
    bool invalidate = false;
    uint32_t slots = 4;             // registered I/O buffers
    uint32_t slot_size = 1u << 20;  // bytes each
    rdma::smbd_settings connection; // MS-SMBD limits to offer
    int connect_timeout_ms = 10000; // address and route resolution, connect, negotiate
};

class smbd_client_transport final : public message_transport, private rdma::smbd_connection_events {
public:
    // Connects and negotiates SMB Direct; throws smb_error.
    smbd_client_transport(const std::string& host, uint16_t port,
                          const smbd_client_settings& settings);
    ~smbd_client_transport() override;
    smbd_client_transport(const smbd_client_transport&) = delete;
    smbd_client_transport& operator=(const smbd_client_transport&) = delete;

    void send(byte_span message) override;
    bytes receive() override;
    bool ready() override;
    int wait_fd() const override;
    size_t max_message_size() const override { return negotiated().max_fragmented_send_size; }

    std::optional<rdma_buffer> lend(size_t n) override;
    void give_back(uint32_t slot) override;
    uint32_t max_read_write_size() const override;

    const rdma::smbd_negotiated& negotiated() const { return _engine->negotiated(); }

private:
    // smbd_connection_events
    void on_established() override { _established = true; }
    void on_message(bytes message) override { _messages.push_back(std::move(message)); }
    void on_closed() override { _closed = true; }

    void connect(const std::string& host, uint16_t port);
    // Disconnects (bounded wait for the flushed work requests) and frees everything.
    void release();
    // Runs completions, CM events and the engine's timers; returns the work done.
    int progress();
    // Waits (at most timeout_ms) for a completion or CM event, arming first.
    void wait(int timeout_ms);
    rdma_cm_event_type next_cm_event(int timeout_ms);
    void throw_if_closed() const;

    std::string _peer;
    smbd_client_settings _settings;
    rdma_event_channel* _cm_channel = nullptr;
    rdma_cm_id* _id = nullptr;
    uint8_t* _area = nullptr; // slots * slot_size, page aligned, registered once
    size_t _area_size = 0;
    std::unique_ptr<rdma::device_memory> _device;
    std::unique_ptr<rdma::verbs_queue_pair> _qp;
    std::unique_ptr<rdma::smbd_connection> _engine;
    std::vector<uint32_t> _free_slots;
    // invalidate: each slot's memory window and whether it is still bound (the server
    // did not invalidate it: unbind it locally before binding it again).
    struct window {
        ibv_mw* mw = nullptr;
        bool bound = false;
    };
    std::vector<window> _windows;
    void bind_window(uint32_t slot, std::span<uint8_t> memory);
    std::deque<bytes> _messages;
    bool _established = false;
    bool _closed = false;
    std::string _close_reason;
};

} // namespace smbx::bench
