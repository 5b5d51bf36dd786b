#include "bench/smbx_bench/tcp_transport.hh"

#include <cerrno>
#include <cstring>

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench/smbx_bench/smb2_client.hh"

namespace smbx::bench {

tcp_transport::tcp_transport(const std::string& host, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) {
        throw smb_error("cannot resolve " + host + ": " + gai_strerror(rc));
    }
    int err = 0;
    for (addrinfo* a = res; a; a = a->ai_next) {
        _fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (_fd < 0) {
            err = errno;
            continue;
        }
        if (::connect(_fd, a->ai_addr, a->ai_addrlen) == 0) {
            break;
        }
        err = errno;
        ::close(_fd);
        _fd = -1;
    }
    freeaddrinfo(res);
    if (_fd < 0) {
        throw smb_error("cannot connect to " + host + ":" + service + ": " + strerror(err));
    }
    int one = 1;
    setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

tcp_transport::~tcp_transport() {
    if (_fd >= 0) {
        ::close(_fd);
    }
}

void tcp_transport::send(byte_span message) {
    const size_t n = message.size();
    uint8_t length[4] = {0, uint8_t(n >> 16), uint8_t(n >> 8), uint8_t(n)};
    iovec iov[2] = {{length, sizeof length}, {const_cast<uint8_t*>(message.data()), n}};
    msghdr mh{};
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    size_t left = sizeof length + n;
    while (left) {
        ssize_t r = ::sendmsg(_fd, &mh, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            throw smb_error(std::string("send: ") + strerror(errno));
        }
        left -= size_t(r);
        // Step over what went out (a partial send of a blocking socket is rare).
        for (size_t done = size_t(r); done && mh.msg_iovlen;) {
            size_t k = std::min(done, mh.msg_iov->iov_len);
            mh.msg_iov->iov_base = static_cast<uint8_t*>(mh.msg_iov->iov_base) + k;
            mh.msg_iov->iov_len -= k;
            done -= k;
            if (mh.msg_iov->iov_len == 0) {
                ++mh.msg_iov;
                --mh.msg_iovlen;
            }
        }
    }
}

void tcp_transport::recv_all(uint8_t* p, size_t n) {
    while (n) {
        ssize_t r = ::recv(_fd, p, n, 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r == 0) {
            throw smb_error("connection closed by the server");
        }
        if (r < 0) {
            throw smb_error(std::string("recv: ") + strerror(errno));
        }
        p += r;
        n -= size_t(r);
    }
}

bytes tcp_transport::receive() {
    uint8_t nb[4];
    recv_all(nb, 4);
    size_t n = (size_t(nb[1]) << 16) | (size_t(nb[2]) << 8) | nb[3];
    bytes msg(n);
    recv_all(msg.data(), n);
    return msg;
}

} // namespace smbx::bench
