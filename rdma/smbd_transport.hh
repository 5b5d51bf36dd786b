// The `smbdirect` transport: a librdmacm listener on the configured addresses and ports
// (RDMA CM port 5445 for iWARP-style clients such as Linux cifs' first try, 445 for
// RoCE/InfiniBand), one RC queue pair and smbd_connection per client, presented to the
// SMB2 engine as transport_connections. One transport per worker: the first worker's
// listens, accepts, and deals the connections out to all of them in turn (moving each
// connection's CM id to its new worker's event channel); everything else runs in
// poll(), on the worker that owns the connection: its CM events, its completion queue
// and its timers.
// No thread of its own, no interrupts on the data path; an idle worker sleeps on
// wait_fd() (an epoll set of the CM channel, the completion channels and a 1 s timer).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <rdma/rdma_cma.h>

#include "dataplane/runtime/connection_placement.hh"
#include "dataplane/runtime/posted_queue.hh"
#include "dataplane/runtime/transport.hh"
#include "rdma/smbd_connection.hh"
#include "rdma/verbs_queue_pair.hh"

namespace smbx::rdma {

struct smbd_transport_settings {
    std::vector<std::string> addresses{"0.0.0.0"}; // IPv4, one listener per address and port
    std::vector<uint16_t> ports{5445, 445};
    smbd_settings connection;
    // The data plane's buffer pool: registered once with each device a client comes in
    // on. RDMA READ/WRITE only use buffers inside it.
    void* pool_region = nullptr;
    size_t pool_size = 0;
};

class smbd_transport;

class smbd_transport_connection final
    : public transport_connection,
      public smbd_connection_events,
      public std::enable_shared_from_this<smbd_transport_connection> {
public:
    // ok: every byte moved; the buffer comes back either way, exactly once.
    using rdma_done = std::function<void(bool ok, pool_buffer buffer)>;

    smbd_transport_connection(smbd_transport& owner, uint64_t id, rdma_cm_id* cm_id,
                              std::string peer);

    // transport_connection (any thread)
    void send(out_message message) override;
    void close() override;
    const std::string& peer_address() const override { return _peer; }

    // transport_connection's RDMA operations (request threads; they wait for the worker
    // to finish the transfer).
    bool supports_rdma_channel() const override { return true; }
    bool rdma_read(std::vector<buffer_descriptor_v1> remote, pool_buffer& into) override;
    bool rdma_write(std::vector<buffer_descriptor_v1> remote, pool_buffer& from) override;
    void rdma_invalidate_with_next_reply(uint32_t token) override;
    uint32_t rdma_max_read_write_size() const override { return _max_read_write_size; }

    // Any thread. For SMB2 WRITE with an RDMA channel: reads total_length(remote) bytes
    // of client memory into `into` (a pool buffer at least that large); `done` runs on
    // the worker.
    void start_rdma_read(std::vector<buffer_descriptor_v1> remote, pool_buffer into,
                         rdma_done done);
    // For SMB2 READ: writes `from` into the client's buffers, in descriptor order.
    void start_rdma_write(std::vector<buffer_descriptor_v1> remote, pool_buffer from,
                          rdma_done done);
    // A reply that invalidates the client's token (SMB2_CHANNEL_RDMA_V1_INVALIDATE).
    void send_invalidate(out_message message, uint32_t token);

    // Worker thread only.
    const smbd_negotiated& negotiated() const { return _engine->negotiated(); }

private:
    friend class smbd_transport;
    // smbd_connection_events
    void on_established() override;
    void on_message(bytes message) override;
    void on_closed() override;

    smbd_transport* _owner; // changes once, when the listener hands it to its worker
    const uint64_t _id;
    rdma_cm_id* _cm_id;
    std::string _peer;
    std::unique_ptr<verbs_queue_pair> _qp;
    std::unique_ptr<smbd_connection> _engine;
    // Set before on_connect, read-only afterwards.
    uint32_t _max_read_write_size = 0;
    // rdma_invalidate_with_next_reply(): a token in the low 32 bits, bit 32 says "set".
    std::atomic<uint64_t> _invalidate_next{0};
    bool _announced = false; // on_connect was called
    bool _closed = false;    // the engine reported on_closed: reap it
};

class smbd_transport final : public transport {
public:
    // `owner`: the worker that polls this transport (woken when other threads queue
    // work); null when the caller polls it itself.
    smbd_transport(smbd_transport_settings settings, transport_events& events, worker* owner);
    ~smbd_transport() override;
    smbd_transport(const smbd_transport&) = delete;
    smbd_transport& operator=(const smbd_transport&) = delete;

    // Binds and listens on every address x port; false when none could be bound.
    bool listen();
    // The listener's transport deals accepted connections to these (itself among them)
    // in turn; they share its device registrations (one per device for the server).
    void set_group(std::vector<smbd_transport*> group);

    unsigned poll() override;
    int wait_fd() override { return _epoll_fd; }
    bool before_sleep() override;
    void after_sleep() override;

    size_t connection_count() const { return _connections.size(); }
    // The IPv4 addresses (network byte order) with at least one listener, after listen().
    std::vector<uint32_t> listening_addresses() const;

private:
    friend class smbd_transport_connection;
    struct posted {
        enum kind : uint8_t { send, close, rdma_read, rdma_write, adopt };
        posted(kind k, uint64_t i) : what(k), id(i) {}
        kind what;
        uint64_t id = 0;
        out_message message;
        std::optional<uint32_t> token;
        std::vector<buffer_descriptor_v1> remote;
        pool_buffer buffer;
        smbd_transport_connection::rdma_done done;
        std::shared_ptr<smbd_transport_connection> connection; // adopt
    };

    void run_posted(posted& p);
    void handle_cm_event(rdma_cm_event& ev);
    bool accept(rdma_cm_id* id, const rdma_conn_param& theirs);
    bool open_channel();
    // Moves a just-accepted connection to the next transport of the group.
    void deal(rdma_cm_id* id);
    device_memory* device_for(ibv_context* context);
    void reap();
    void watch(int fd, bool add);

    smbd_transport_settings _settings;
    transport_events& _events;
    worker* _worker;
    rdma_event_channel* _channel = nullptr;
    std::vector<rdma_cm_id*> _listeners;
    // The pool's registration per device, made once by the group's first transport
    // (the queue pairs it creates use that protection domain); the others ask it.
    smbd_transport* _registrar = this;
    std::mutex _devices_mutex;
    std::map<ibv_context*, std::unique_ptr<device_memory>> _devices;
    connection_placement<smbd_transport> _placement;
    std::map<rdma_cm_id*, std::shared_ptr<smbd_transport_connection>> _connections;
    uint64_t _next_id = 1;
    int _epoll_fd = -1;
    int _timer_fd = -1;
    posted_queue<posted> _posted{_worker};
};

} // namespace smbx::rdma
