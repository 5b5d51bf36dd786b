// Kernel TCP driven by io_uring, one instance per worker, each with its own ring.
// The first worker's instance accepts (multishot) on the listening sockets that
// smbx-control handed us and deals the connections out to the workers in turn; from
// then on a connection lives on its worker: one receive (into the worker's
// provided-buffer ring; tcp_receive.cc) and at most one send in flight, both on that
// worker's ring. Other threads queue sends and closes through a posted
// queue and wake the worker only if it sleeps. Framing is the Direct TCP transport of
// MS-SMB2 2.1: a zero byte and a 24-bit big-endian length before each message.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <sys/socket.h>
#include <sys/uio.h>
#include <vector>

#include <liburing.h>

#include "dataplane/runtime/connection_placement.hh"
#include "dataplane/runtime/direct_tcp.hh"
#include "dataplane/runtime/direct_tcp_framer.hh"
#include "dataplane/runtime/posted_queue.hh"
#include "dataplane/runtime/transport.hh"
#include "dataplane/runtime/worker.hh"
#include "dataplane/tcp/provided_buffer_ring.hh"

namespace smbx {

class tcp_transport;

class tcp_connection final : public transport_connection,
                             public std::enable_shared_from_this<tcp_connection> {
public:
    tcp_connection(tcp_transport& owner, uint64_t id, int fd, std::string peer)
        : _owner(owner), _id(id), _fd(fd), _peer(std::move(peer)) {}

    void send(out_message message) override;
    void close() override;
    const std::string& peer_address() const override { return _peer; }

private:
    friend class tcp_transport;

    tcp_transport& _owner;
    const uint64_t _id;
    int _fd;
    std::string _peer;
    bool _closing = false;
    bool _zero_copy = false; // large payloads go with SENDMSG_ZC
    int _ops_in_flight = 0;

    // Receive side (tcp_receive.cc): no buffer of its own while idle. Messages come out
    // of the worker's provided buffers through the framer; one that does not lie in one
    // buffer is assembled in a pool buffer, and the rest of a large one is received
    // straight into it (direct_tcp_framer::direct_target).
    direct_tcp_framer _framer;
    bool _ring_armed = false;          // a receive into a ring buffer is in flight
    bool _direct_armed = false;        // a plain receive into _message is in flight
    bool _waiting_for_buffers = false; // the last ring receive ended with ENOBUFS

    // Send side: queued messages; the head is in flight.
    std::deque<out_message> _send_queue;
    // Zero-copy sends (IORING_OP_SENDMSG_ZC): the kernel may still read a message's
    // buffers after the send completed, until its notification arrives; sent messages
    // wait here, by sequence number, with the notifications they still expect.
    struct zc_held {
        out_message message;
        unsigned notifications = 0;
        bool sent = false;
    };
    std::map<uint64_t, zc_held> _zc_held;
    size_t _zc_held_bytes = 0; // payload bytes of the messages in _zc_held
    uint64_t _next_message_seq = 1;
    bool _head_zc_tracked = false; // the head message is in _zc_held
    uint8_t _send_frame[direct_tcp::header_size]{};
    size_t _send_offset = 0; // bytes of (frame + head + payload) already sent
    bool _send_in_flight = false;
    iovec _iov[3]{};
    msghdr _msg{};
};

class tcp_transport final : public transport {
public:
    // `listen_fds` empty: this instance only serves connections other instances accept.
    // `zero_copy_send`: send large READ payloads with IORING_OP_SENDMSG_ZC; `auto`
    // uses it except towards loopback peers (where the kernel copies anyway).
    enum class zero_copy { no, yes, automatic };
    // Payload bytes a connection may hold for zero-copy notifications before its next
    // large payload is copied instead. Linux (6.10 on) links the notification of a send
    // that lands behind the previous one in the socket's queue to that one's, and the
    // whole chain completes together, once the queue drains: a reader slower than the
    // server would otherwise keep every buffer sent meanwhile. A copied send starts
    // skbs of its own, which ends the chain. Two of the largest READs we negotiate.
    static constexpr size_t default_zero_copy_held_limit = 16 * 1024 * 1024;
    tcp_transport(std::vector<int> listen_fds, transport_events& events, worker& owner,
                  zero_copy zc = zero_copy::automatic, provided_buffer_ring::config recv_ring = {});
    ~tcp_transport() override;

    // The instances accepted connections are dealt to, this one included; set before
    // the workers start. Without it, this instance keeps what it accepts.
    void set_group(std::vector<tcp_transport*> group) { _placement.set_members(std::move(group)); }

    // poller
    unsigned poll() override;
    int wait_fd() override { return _ring_event_fd; }
    bool before_sleep() override;
    void after_sleep() override;

    // Any thread: sends on connection `id`; queued for the worker unless called on it.
    void send(uint64_t id, out_message message);
    // Any thread: queue work for this instance's worker.
    void post_close(uint64_t id);
    void post_adopt(int fd);

    // Before the worker starts (tests use a small one).
    void set_zero_copy_held_limit(size_t bytes) { _zero_copy_held_limit = bytes; }

    size_t connection_count() const { return _connection_count.load(std::memory_order_relaxed); }

private:
    enum class op : uint8_t {
        accept = 1,
        recv_ring = 2,
        send = 3,
        send_zc = 4,
        recv_direct = 5,
    };
    // What a zero-copy send's completions refer to (their user data is a send number).
    struct zc_send {
        uint64_t connection;
        uint64_t message_seq;
    };
    // Payloads at least this large go zero-copy: below it, pinning pages costs more
    // than copying them.
    static constexpr size_t zero_copy_threshold = 64 * 1024;
    struct posted {
        enum kind : uint8_t { send, close, adopt } what;
        uint64_t id = 0;
        int fd = -1;
        out_message message;
    };

    static uint64_t tag(op o, uint64_t id) { return (uint64_t(o) << 56) | id; }
    io_uring_sqe* sqe();
    void arm_accept(size_t listener);
    void arm_send(tcp_connection& c);
    void on_completion(uint64_t data, int res, uint32_t flags);
    void on_accept(size_t listener, int res, uint32_t flags);
    void adopt(int fd);
    // Receive side (tcp_receive.cc).
    void arm_ring_receive(tcp_connection& c);
    void arm_direct(tcp_connection& c, std::span<uint8_t> into);
    void continue_receiving(tcp_connection& c);
    void on_recv_ring(tcp_connection& c, int res, uint32_t flags);
    void on_recv_direct(tcp_connection& c, int res);
    bool frame(tcp_connection& c, uint16_t buffer_id, size_t length);
    void count_framed(tcp_connection& c, const direct_tcp_framer::totals& before);
    unsigned after_completions();
    void on_send(tcp_connection& c, int res);
    void on_send_zc(uint64_t send_id, int res, uint32_t flags);
    void release_zc(tcp_connection& c, uint64_t message_seq);
    void run_posted(posted& p);
    void begin_close(tcp_connection& c);
    void maybe_finish_close(tcp_connection& c);

    std::vector<int> _listen_fds;
    transport_events& _events;
    zero_copy _zero_copy;
    size_t _zero_copy_held_limit = default_zero_copy_held_limit;
    std::map<uint64_t, zc_send> _zc_sends;
    uint64_t _next_zc_send = 1;
    worker& _worker;
    connection_placement<tcp_transport> _placement;
    io_uring _ring{};
    int _ring_event_fd = -1;
    std::unique_ptr<provided_buffer_ring> _recv_ring;
    // Connections whose receive waits for ring buffers.
    std::vector<uint64_t> _waiting_for_buffers;
    bool _accepts_armed = false;
    uint64_t _next_id = 1;
    std::map<uint64_t, std::shared_ptr<tcp_connection>> _connections;
    std::atomic<size_t> _connection_count{0};
    posted_queue<posted> _posted{&_worker};
};

} // namespace smbx
