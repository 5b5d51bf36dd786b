// Loopback sockets and Direct TCP frames (MS-SMB2 2.1) for the TCP transport tests.
#pragma once

#include <arpa/inet.h>
#include <cerrno>
#include <cstdint>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/byte_codec.hh"

namespace smbx::test {

inline int listen_on_loopback(uint16_t& port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd, 16);
    socklen_t l = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &l);
    port = ntohs(a.sin_port);
    return fd;
}

inline int connect_to(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

inline bool write_all(int fd, const uint8_t* p, size_t n) {
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return false;
        }
        p += r;
        n -= size_t(r);
    }
    return true;
}

inline bool read_all(int fd, uint8_t* p, size_t n) {
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) {
            continue; // see closed_by_peer()
        }
        if (r <= 0) {
            return false;
        }
        p += r;
        n -= size_t(r);
    }
    return true;
}

// The server closed the connection: EOF, or a reset if it dropped unread bytes; a
// timeout (EAGAIN) means it did not.
// The thread that created a transport's io_uring (the test's) sees EINTR on reads
// with a timeout (SO_RCVTIMEO) while the transport has receives armed: the
// kernel's task-work notification (TIF_NOTIFY_SIGNAL) interrupts them; read again.
inline bool closed_by_peer(int fd) {
    uint8_t b;
    ssize_t r;
    do {
        r = read(fd, &b, 1);
    } while (r < 0 && errno == EINTR);
    return r == 0 || (r < 0 && errno == ECONNRESET);
}

inline bytes frame(const bytes& m) {
    byte_writer w;
    w.u8(0);
    w.u8(uint8_t(m.size() >> 16));
    w.u16be(uint16_t(m.size()));
    w.put(m);
    return w.take();
}

} // namespace smbx::test
