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

namespace smbx {

void tcp_connection::send(bytes message) {
    _owner.post_send(_id, std::move(message));
}
void tcp_connection::close() {
    _owner.post_close(_id);
}

tcp_transport::tcp_transport(std::vector<int> listen_fds, transport_events& events)
    : _listen_fds(std::move(listen_fds)), _events(events) {
    io_uring_params p{};
    p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN;
    int r = io_uring_queue_init_params(1024, &_ring, &p);
    if (r < 0) {
        p.flags = 0;
        r = io_uring_queue_init_params(1024, &_ring, &p);
    }
    if (r < 0) {
        LOG_ERROR("io_uring_queue_init: %s", strerror(-r));
        throw std::runtime_error("io_uring unavailable");
    }
    _wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

tcp_transport::~tcp_transport() {
    for (auto& [id, c] : _connections) {
        ::close(c->_fd);
    }
    io_uring_queue_exit(&_ring);
    ::close(_wake_fd);
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

void tcp_transport::arm_wake() {
    io_uring_sqe* s = sqe();
    io_uring_prep_read(s, _wake_fd, &_wake_value, sizeof _wake_value, 0);
    io_uring_sqe_set_data64(s, tag(op::wake, 0));
}

void tcp_transport::arm_recv(tcp_connection& c) {
    uint8_t* target;
    size_t len;
    size_t need = c._in_message ? c._message.size() - c._message_filled : 0;
    if (c._in_message && c._staged == 0 && need >= c._staging.size()) {
        // Large message body: receive straight into the message buffer.
        target = c._message.data() + c._message_filled;
        len = need;
    } else {
        target = c._staging.data() + c._staged;
        len = c._staging.size() - c._staged;
    }
    c._recv_target = target;
    io_uring_sqe* s = sqe();
    io_uring_prep_recv(s, c._fd, target, len, 0);
    io_uring_sqe_set_data64(s, tag(op::recv, c._id));
    ++c._ops_in_flight;
}

void tcp_transport::arm_send(tcp_connection& c) {
    if (c._send_in_flight || c._send_queue.empty() || c._closing) {
        return;
    }
    const bytes& head = c._send_queue.front();
    uint32_t len = static_cast<uint32_t>(head.size());
    c._send_frame[0] = 0;
    c._send_frame[1] = uint8_t(len >> 16);
    c._send_frame[2] = uint8_t(len >> 8);
    c._send_frame[3] = uint8_t(len);
    int n = 0;
    if (c._send_offset < 4) {
        c._iov[n++] = {c._send_frame + c._send_offset, 4 - c._send_offset};
        c._iov[n++] = {const_cast<uint8_t*>(head.data()), head.size()};
    } else {
        size_t off = c._send_offset - 4;
        c._iov[n++] = {const_cast<uint8_t*>(head.data()) + off, head.size() - off};
    }
    c._msg = {};
    c._msg.msg_iov = c._iov;
    c._msg.msg_iovlen = n;
    io_uring_sqe* s = sqe();
    io_uring_prep_sendmsg(s, c._fd, &c._msg, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, tag(op::send, c._id));
    c._send_in_flight = true;
    ++c._ops_in_flight;
}

void tcp_transport::run() {
    for (size_t i = 0; i < _listen_fds.size(); ++i) {
        arm_accept(i);
    }
    arm_wake();
    while (!_stopping) {
        io_uring_submit_and_wait(&_ring, 1);
        io_uring_cqe* cqe;
        unsigned head;
        unsigned seen = 0;
        io_uring_for_each_cqe(&_ring, head, cqe) {
            ++seen;
            uint64_t data = io_uring_cqe_get_data64(cqe);
            auto o = static_cast<op>(data >> 56);
            uint64_t id = data & ((1ULL << 56) - 1);
            int res = cqe->res;
            uint32_t flags = cqe->flags;
            if (o == op::accept) {
                on_accept(id, res, flags);
                continue;
            }
            if (o == op::wake) {
                drain_posted();
                if (!_stopping) {
                    arm_wake();
                }
                continue;
            }
            auto it = _connections.find(id);
            if (it == _connections.end()) {
                continue;
            }
            auto conn = it->second; // keep alive through the callbacks
            --conn->_ops_in_flight;
            if (o == op::recv) {
                on_recv(*conn, res);
            } else {
                on_send(*conn, res);
            }
            maybe_finish_close(*conn);
        }
        io_uring_cq_advance(&_ring, seen);
    }
}

void tcp_transport::stop() {
    _stopping = true;
    uint64_t one = 1;
    ssize_t r = write(_wake_fd, &one, sizeof one);
    (void)r;
}

void tcp_transport::post_send(uint64_t id, bytes message) {
    {
        std::lock_guard lock(_posted_mutex);
        _posted.push_back({id, false, std::move(message)});
    }
    uint64_t one = 1;
    ssize_t r = write(_wake_fd, &one, sizeof one);
    (void)r;
}

void tcp_transport::post_close(uint64_t id) {
    {
        std::lock_guard lock(_posted_mutex);
        _posted.push_back({id, true, {}});
    }
    uint64_t one = 1;
    ssize_t r = write(_wake_fd, &one, sizeof one);
    (void)r;
}

void tcp_transport::drain_posted() {
    std::vector<posted> batch;
    {
        std::lock_guard lock(_posted_mutex);
        batch.swap(_posted);
    }
    for (auto& p : batch) {
        auto it = _connections.find(p.id);
        if (it == _connections.end()) {
            continue; // connection already gone: drop
        }
        auto conn = it->second;
        if (p.close) {
            begin_close(*conn);
        } else if (!conn->_closing) {
            conn->_send_queue.push_back(std::move(p.message));
            arm_send(*conn);
        }
        maybe_finish_close(*conn);
    }
}

void tcp_transport::on_accept(size_t listener, int res, uint32_t flags) {
    if (!(flags & IORING_CQE_F_MORE) && !_stopping) {
        arm_accept(listener);
    }
    if (res < 0) {
        if (res != -EAGAIN && res != -EINTR && res != -ECONNABORTED) {
            LOG_WARN("accept: %s", strerror(-res));
        }
        return;
    }
    int fd = res;
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
    _connections[id] = conn;
    LOG_INFO("connection %llu from %s", static_cast<unsigned long long>(id), addr);
    _events.on_connect(conn);
    arm_recv(*conn);
}

// Hands every complete message in the staging buffer to the engine. False when the
// peer broke the framing (the connection is then closed).
bool tcp_transport::deliver_staged(tcp_connection& c) {
    size_t pos = 0;
    auto self = c.shared_from_this();
    while (true) {
        if (c._in_message) {
            size_t need = c._message.size() - c._message_filled;
            size_t n = std::min(need, c._staged - pos);
            std::memcpy(c._message.data() + c._message_filled, c._staging.data() + pos, n);
            c._message_filled += n;
            pos += n;
            if (c._message_filled < c._message.size()) {
                break;
            }
            c._in_message = false;
            _events.on_message(self, std::move(c._message));
            c._message = bytes();
            continue;
        }
        if (c._staged - pos < 4) {
            break;
        }
        const uint8_t* h = c._staging.data() + pos;
        size_t len = (size_t(h[1]) << 16) | (size_t(h[2]) << 8) | h[3];
        if (h[0] != 0 || len > max_message_size || len < 4) {
            LOG_WARN("%s: bad Direct TCP frame (type %u, length %zu); closing", c._peer.c_str(),
                     h[0], len);
            return false;
        }
        pos += 4;
        c._message = bytes(len);
        c._message_filled = 0;
        c._in_message = true;
    }
    std::memmove(c._staging.data(), c._staging.data() + pos, c._staged - pos);
    c._staged -= pos;
    return true;
}

void tcp_transport::on_recv(tcp_connection& c, int res) {
    if (c._closing) {
        return;
    }
    if (res <= 0) {
        if (res < 0 && res != -ECONNRESET) {
            LOG_DEBUG("%s: recv: %s", c._peer.c_str(), strerror(-res));
        }
        begin_close(c);
        return;
    }
    if (c._recv_target == c._staging.data() + c._staged) {
        c._staged += size_t(res);
        if (!deliver_staged(c)) {
            begin_close(c);
            return;
        }
    } else {
        c._message_filled += size_t(res);
        if (c._message_filled == c._message.size()) {
            c._in_message = false;
            _events.on_message(c.shared_from_this(), std::move(c._message));
            c._message = bytes();
        }
    }
    if (!c._closing) {
        arm_recv(c);
    }
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
        c._send_queue.pop_front();
        c._send_offset = 0;
    }
    arm_send(c);
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
    ::close(c._fd);
    c._fd = -1;
    LOG_INFO("connection %llu from %s closed", static_cast<unsigned long long>(c._id),
             c._peer.c_str());
    _events.on_disconnect(conn);
}

} // namespace smbx
