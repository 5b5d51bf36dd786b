#include "dataplane/tcp/tcp_transport.hh"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"

namespace smbx {

void tcp_connection::send(out_message message) {
    _owner.send(_id, std::move(message));
}
void tcp_connection::close() {
    _owner.post_close(_id);
}

tcp_transport::tcp_transport(std::vector<int> listen_fds, transport_events& events, worker& owner,
                             zero_copy zc, provided_buffer_ring::config recv_ring)
    : _listen_fds(std::move(listen_fds)), _events(events), _zero_copy(zc), _worker(owner) {
    // Completions are run when this thread enters the kernel (COOP_TASKRUN), never by
    // interrupting it; TASKRUN_FLAG tells the polling loop when that is needed.
    io_uring_params p{};
    p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    int r = io_uring_queue_init_params(1024, &_ring, &p);
    if (r < 0) {
        p.flags = 0;
        r = io_uring_queue_init_params(1024, &_ring, &p);
    }
    if (r < 0) {
        LOG_ERROR("io_uring_queue_init: %s", strerror(-r));
        throw std::runtime_error("io_uring unavailable");
    }
    // Signals completions while the worker sleeps; off while it polls.
    _ring_event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    io_uring_register_eventfd(&_ring, _ring_event_fd);
    io_uring_cq_eventfd_toggle(&_ring, false);
    try {
        _recv_ring = std::make_unique<provided_buffer_ring>(_ring, 0, recv_ring, _worker);
    } catch (...) {
        io_uring_queue_exit(&_ring);
        ::close(_ring_event_fd);
        throw;
    }
}

tcp_transport::~tcp_transport() {
    for (auto& [id, c] : _connections) {
        ::close(c->_fd);
    }
    for (auto& p : _posted.take_all()) {
        if (p.what == posted::adopt) {
            ::close(p.fd);
        }
    }
    // A message the engine still holds may lie in a ring buffer: it gives the buffer
    // back to the ring object later, so that object must stay (only at shutdown).
    if (_recv_ring && _recv_ring->lent_out() > 0) {
        (void)_recv_ring.release();
    }
    _recv_ring.reset();
    io_uring_queue_exit(&_ring);
    ::close(_ring_event_fd);
}

io_uring_sqe* tcp_transport::sqe() {
    io_uring_sqe* s = io_uring_get_sqe(&_ring);
    if (!s) {
        io_uring_submit(&_ring);
        s = io_uring_get_sqe(&_ring);
    }
    return s;
}

void tcp_transport::arm_accept(size_t listener) {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, _listen_fds[listener], nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, tag(op::accept, listener));
}

void tcp_transport::arm_send(tcp_connection& c) {
    if (c._send_in_flight || c._send_queue.empty() || c._closing) {
        return;
    }
    out_message& m = c._send_queue.front();
    direct_tcp::encode_header(c._send_frame, m.size()); // at most max_message_size (runtime/message_limits.hh)
    // Frame header, head, then the payload from its own buffer: one sendmsg, no copy.
    iovec parts[3] = {{c._send_frame, sizeof c._send_frame},
                      {m.head.data(), m.head.size()},
                      {m.payload.data(), m.payload.size()}};
    size_t skip = c._send_offset;
    int n = 0;
    for (auto& part : parts) {
        if (skip >= part.iov_len) {
            skip -= part.iov_len;
            continue;
        }
        c._iov[n++] = {static_cast<uint8_t*>(part.iov_base) + skip, part.iov_len - skip};
        skip = 0;
    }
    c._msg = {};
    c._msg.msg_iov = c._iov;
    c._msg.msg_iovlen = size_t(n);
    io_uring_sqe* s = sqe();
    bool zc_eligible =
        c._zero_copy && m.payload.size() >= zero_copy_threshold && m.payload.in_pool();
    if (zc_eligible && c._send_offset == 0 && !c._head_zc_tracked) {
        // A new head: zero-copy unless the connection already holds its limit.
        if (c._zc_held_bytes < _zero_copy_held_limit) {
            c._head_zc_tracked = true;
            c._zc_held[c._next_message_seq] = {};
            c._zc_held_bytes += m.payload.size();
        } else {
            counters::add(counters::data().payload_sent_over_zc_limit_bytes, m.payload.size());
        }
    }
    if (c._head_zc_tracked) {
        // The kernel sends from the pool buffer itself; the message is held until the
        // notification says the kernel is done with it (on_send_zc).
        uint64_t send_id = _next_zc_send++;
        _zc_sends[send_id] = {c._id, c._next_message_seq};
        io_uring_prep_sendmsg_zc(s, c._fd, &c._msg, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(s, tag(op::send_zc, send_id));
    } else {
        io_uring_prep_sendmsg(s, c._fd, &c._msg, MSG_NOSIGNAL);
        io_uring_sqe_set_data64(s, tag(op::send, c._id));
    }
    c._send_in_flight = true;
    ++c._ops_in_flight;
}

unsigned tcp_transport::poll() {
    unsigned work = 0;
    if (!_accepts_armed) {
        for (size_t i = 0; i < _listen_fds.size(); ++i) {
            arm_accept(i);
        }
        _accepts_armed = true;
    }
    work += _posted.drain([this](posted& p) { run_posted(p); });
    // Enter the kernel only when there is something to submit or completions are
    // waiting to be run (IORING_SQ_TASKRUN): an idle poll costs no system call.
    unsigned sq_flags = IO_URING_READ_ONCE(*_ring.sq.kflags);
    if (io_uring_sq_ready(&_ring) || (sq_flags & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))) {
        io_uring_submit_and_get_events(&_ring);
    }
    io_uring_cqe* cqe;
    unsigned head;
    unsigned seen = 0;
    io_uring_for_each_cqe(&_ring, head, cqe) {
        ++seen;
        on_completion(io_uring_cqe_get_data64(cqe), cqe->res, cqe->flags);
    }
    io_uring_cq_advance(&_ring, seen);
    work += after_completions();
    return work + seen;
}

bool tcp_transport::before_sleep() {
    io_uring_submit(&_ring);
    io_uring_cq_eventfd_toggle(&_ring, true);
    unsigned sq_flags = IO_URING_READ_ONCE(*_ring.sq.kflags);
    return !io_uring_cq_ready(&_ring) && !(sq_flags & IORING_SQ_TASKRUN) &&
           _posted.empty_before_sleep() && !_recv_ring->has_returns();
}

void tcp_transport::after_sleep() {
    io_uring_cq_eventfd_toggle(&_ring, false);
    uint64_t v;
    ssize_t r = read(_ring_event_fd, &v, sizeof v);
    (void)r;
}

void tcp_transport::on_completion(uint64_t data, int res, uint32_t flags) {
    auto o = static_cast<op>(data >> 56);
    uint64_t id = data & ((1ULL << 56) - 1);
    if (o == op::accept) {
        on_accept(id, res, flags);
        return;
    }
    if (o == op::send_zc) {
        on_send_zc(id, res, flags);
        return;
    }
    auto it = _connections.find(id);
    if (it == _connections.end()) {
        // Never in practice (a connection waits for its operations), but a ring
        // buffer must not be lost.
        if (o == op::recv_ring && (flags & IORING_CQE_F_BUFFER)) {
            auto buffer = uint16_t(flags >> IORING_CQE_BUFFER_SHIFT);
            _recv_ring->take(buffer);
            _recv_ring->release(buffer);
        }
        return;
    }
    auto conn = it->second; // keep alive through the callbacks
    if (o == op::recv_ring) {
        --conn->_ops_in_flight;
        on_recv_ring(*conn, res, flags);
    } else if (o == op::recv_direct) {
        --conn->_ops_in_flight;
        on_recv_direct(*conn, res);
    } else {
        --conn->_ops_in_flight;
        on_send(*conn, res);
    }
    maybe_finish_close(*conn);
}

void tcp_transport::send(uint64_t id, out_message message) {
    // On the worker itself (a request it processed): straight onto the send queue.
    _posted.run_or_post({posted::send, id, -1, std::move(message)}, [this](posted p) {
        auto it = _connections.find(p.id);
        if (it != _connections.end() && !it->second->_closing) {
            it->second->_send_queue.push_back(std::move(p.message));
            arm_send(*it->second);
        }
    });
}

void tcp_transport::post_close(uint64_t id) {
    _posted.post({posted::close, id, -1, {}});
}

void tcp_transport::post_adopt(int fd) {
    _posted.post({posted::adopt, 0, fd, {}});
}

void tcp_transport::run_posted(posted& p) {
    if (p.what == posted::adopt) {
        adopt(p.fd);
        return;
    }
    auto it = _connections.find(p.id);
    if (it == _connections.end()) {
        return; // connection already gone: drop
    }
    auto conn = it->second;
    if (p.what == posted::close) {
        begin_close(*conn);
    } else if (!conn->_closing) {
        conn->_send_queue.push_back(std::move(p.message));
        arm_send(*conn);
    }
    maybe_finish_close(*conn);
}

void tcp_transport::on_accept(size_t listener, int res, uint32_t flags) {
    if (!(flags & IORING_CQE_F_MORE)) {
        arm_accept(listener);
    }
    if (res < 0) {
        if (res != -EAGAIN && res != -EINTR && res != -ECONNABORTED) {
            LOG_WARN("accept: %s", strerror(-res));
        }
        return;
    }
    // Each worker keeps the connections placed on it for life.
    tcp_transport* target = _placement.place(this, [fd = res](tcp_transport* to) {
        to->post_adopt(fd);
        return true;
    });
    if (target == this) {
        adopt(res);
    }
}

void tcp_transport::adopt(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t sl = sizeof ss;
    char addr[INET6_ADDRSTRLEN + 8] = "?";
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &sl) == 0 && ss.ss_family == AF_INET) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        snprintf(addr, sizeof addr, "%s:%u", ip, ntohs(sin->sin_port));
    }
    uint64_t id = _next_id++;
    auto conn = std::make_shared<tcp_connection>(*this, id, fd, addr);
    bool loopback = ss.ss_family == AF_INET &&
                    (ntohl(reinterpret_cast<sockaddr_in*>(&ss)->sin_addr.s_addr) >> 24) == 127;
    conn->_zero_copy =
        _zero_copy == zero_copy::yes || (_zero_copy == zero_copy::automatic && !loopback);
    _connections[id] = conn;
    _connection_count.store(_connections.size(), std::memory_order_relaxed);
    LOG_INFO("connection %llu from %s on worker %u", static_cast<unsigned long long>(id), addr,
             _worker.index());
    _events.on_connect(conn);
    arm_ring_receive(*conn);
}

void tcp_transport::on_send(tcp_connection& c, int res) {
    c._send_in_flight = false;
    if (c._closing) {
        return;
    }
    if (res < 0) {
        LOG_DEBUG("%s: send: %s", c._peer.c_str(), strerror(-res));
        begin_close(c);
        return;
    }
    c._send_offset += size_t(res);
    if (c._send_offset >= c._send_queue.front().size() + 4) {
        const pool_buffer& payload = c._send_queue.front().payload;
        if (payload.in_pool()) {
            counters::add(counters::data().payload_sent_from_pool_bytes, payload.size());
        }
        if (c._head_zc_tracked) {
            // Sent, but the kernel may still read it: held until its notifications.
            uint64_t seq = c._next_message_seq;
            auto& held = c._zc_held[seq];
            held.message = std::move(c._send_queue.front());
            held.sent = true;
            c._head_zc_tracked = false;
            release_zc(c, seq);
        }
        c._send_queue.pop_front(); // returns the payload's pool buffer (unless held)
        ++c._next_message_seq;
        c._send_offset = 0;
    }
    arm_send(c);
}

void tcp_transport::on_send_zc(uint64_t send_id, int res, uint32_t flags) {
    auto it = _zc_sends.find(send_id);
    if (it == _zc_sends.end()) {
        return;
    }
    zc_send z = it->second;
    auto cit = _connections.find(z.connection);
    if (cit == _connections.end()) {
        _zc_sends.erase(it);
        return;
    }
    auto conn = cit->second;
    tcp_connection& c = *conn;
    auto held = c._zc_held.find(z.message_seq);
    if (flags & IORING_CQE_F_NOTIF) {
        // The kernel is done with the buffers of that send.
        _zc_sends.erase(it);
        --c._ops_in_flight;
        if (held != c._zc_held.end()) {
            --held->second.notifications;
            release_zc(c, z.message_seq);
        }
        maybe_finish_close(c);
        return;
    }
    if (flags & IORING_CQE_F_MORE) {
        // A notification follows; it keeps the connection's descriptor in use.
        ++c._ops_in_flight;
        if (held != c._zc_held.end()) {
            ++held->second.notifications;
        }
    } else {
        _zc_sends.erase(it);
    }
    if (res >= 0) {
        counters::add(counters::data().payload_sent_zero_copy_bytes, uint64_t(res));
    }
    --c._ops_in_flight;
    on_send(c, res);
    maybe_finish_close(c);
}

void tcp_transport::release_zc(tcp_connection& c, uint64_t message_seq) {
    auto it = c._zc_held.find(message_seq);
    if (it != c._zc_held.end() && it->second.sent && it->second.notifications == 0) {
        c._zc_held_bytes -= it->second.message.payload.size();
        c._zc_held.erase(it); // the pool buffer goes back
    }
}

void tcp_transport::begin_close(tcp_connection& c) {
    if (c._closing) {
        return;
    }
    c._closing = true;
    // Wakes the pending receive (it completes with 0); the fd is closed once no
    // operation refers to it any more.
    shutdown(c._fd, SHUT_RDWR);
}

void tcp_transport::maybe_finish_close(tcp_connection& c) {
    if (!c._closing || c._ops_in_flight > 0) {
        return;
    }
    auto conn = _connections[c._id];
    _connections.erase(c._id);
    _connection_count.store(_connections.size(), std::memory_order_relaxed);
    ::close(c._fd);
    c._fd = -1;
    c._send_queue.clear();
    c._zc_held.clear(); // no notification is outstanding any more (_ops_in_flight is 0)
    c._zc_held_bytes = 0;
    c._framer = direct_tcp_framer(); // a message half received
    LOG_INFO("connection %llu from %s closed", static_cast<unsigned long long>(c._id),
             c._peer.c_str());
    _events.on_disconnect(conn);
}

} // namespace smbx
