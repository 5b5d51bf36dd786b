// Kernel TCP driven by io_uring: multishot accept on the listening sockets that
// smbx-control handed us, one receive and at most one send in flight per connection,
// and an eventfd through which other threads queue sends and closes. Framing is the
// Direct TCP transport of MS-SMB2 2.1: a zero byte and a 24-bit big-endian length
// before each message.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <sys/socket.h>
#include <sys/uio.h>
#include <vector>

#include <liburing.h>

#include "dataplane/transport.hh"

namespace smbx {

class tcp_transport;

class tcp_connection final : public transport_connection,
                             public std::enable_shared_from_this<tcp_connection> {
public:
    tcp_connection(tcp_transport& owner, uint64_t id, int fd, std::string peer)
        : _owner(owner), _id(id), _fd(fd), _peer(std::move(peer)) {}

    void send(bytes message) override;
    void close() override;
    const std::string& peer_address() const override { return _peer; }
    const char* transport_name() const override { return "tcp"; }

private:
    friend class tcp_transport;

    tcp_transport& _owner;
    const uint64_t _id;
    int _fd;
    std::string _peer;
    bool _closing = false;
    int _ops_in_flight = 0;

    // Receive side: a staging buffer, and the message being assembled.
    std::vector<uint8_t> _staging = std::vector<uint8_t>(64 * 1024);
    size_t _staged = 0;
    bytes _message;
    size_t _message_filled = 0;
    bool _in_message = false;
    uint8_t* _recv_target = nullptr; // where the in-flight recv writes

    // Send side: queued messages; the head is in flight.
    std::deque<bytes> _send_queue;
    uint8_t _send_frame[4]{};
    size_t _send_offset = 0; // bytes of (frame + head) already sent
    bool _send_in_flight = false;
    iovec _iov[2]{};
    msghdr _msg{};
};

class tcp_transport final : public transport {
public:
    // Largest message accepted: 8 MiB payload plus headers (we advertise 8 MiB max
    // read/write/transact sizes in NEGOTIATE).
    static constexpr size_t max_message_size = 8 * 1024 * 1024 + 64 * 1024;

    tcp_transport(std::vector<int> listen_fds, transport_events& events);
    ~tcp_transport() override;

    const char* name() const override { return "tcp"; }
    void run() override;
    void stop() override;

    // Thread-safe: called by tcp_connection from any thread.
    void post_send(uint64_t id, bytes message);
    void post_close(uint64_t id);

private:
    enum class op : uint8_t { accept = 1, recv = 2, send = 3, wake = 4 };
    struct posted {
        uint64_t id;
        bool close;
        bytes message;
    };

    static uint64_t tag(op o, uint64_t id) { return (uint64_t(o) << 56) | id; }
    io_uring_sqe* sqe();
    void arm_accept(size_t listener);
    void arm_wake();
    void arm_recv(tcp_connection& c);
    void arm_send(tcp_connection& c);
    void on_accept(size_t listener, int res, uint32_t flags);
    void on_recv(tcp_connection& c, int res);
    void on_send(tcp_connection& c, int res);
    void drain_posted();
    void begin_close(tcp_connection& c);
    void maybe_finish_close(tcp_connection& c);
    bool deliver_staged(tcp_connection& c);

    std::vector<int> _listen_fds;
    transport_events& _events;
    io_uring _ring{};
    int _wake_fd = -1;
    uint64_t _wake_value = 0;
    bool _stopping = false;
    uint64_t _next_id = 1;
    std::map<uint64_t, std::shared_ptr<tcp_connection>> _connections;
    std::mutex _posted_mutex;
    std::vector<posted> _posted;
};

} // namespace smbx
