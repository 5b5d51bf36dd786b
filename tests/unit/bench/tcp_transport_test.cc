// smbx-bench's Direct TCP backend (MS-SMB2 2.1 framing) against a loopback peer.
#include "bench/smbx_bench/tcp_transport.hh"

#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "bench/smbx_bench/smb2_client.hh"

using namespace smbx;
using namespace smbx::bench;

namespace {

struct loopback_listener {
    int fd = -1;
    uint16_t port = 0;
    loopback_listener() {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(fd, 1), 0);
        socklen_t n = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
        port = ntohs(a.sin_port);
    }
    ~loopback_listener() { ::close(fd); }
};

bytes read_exactly(int fd, size_t n) {
    bytes b(n);
    size_t got = 0;
    while (got < n) {
        ssize_t r = ::recv(fd, b.data() + got, n - got, 0);
        if (r <= 0) {
            break;
        }
        got += size_t(r);
    }
    b.resize(got);
    return b;
}

} // namespace

TEST(tcp_transport, frames_each_message_with_its_24_bit_length) {
    loopback_listener l;
    tcp_transport t("127.0.0.1", l.port);
    int peer = ::accept(l.fd, nullptr, nullptr);
    ASSERT_GE(peer, 0);
    bytes big(3 << 20);
    for (size_t i = 0; i < big.size(); ++i) {
        big[i] = uint8_t(i * 31);
    }
    std::thread sender([&] {
        t.send(bytes{1, 2, 3});
        t.send(big);
    });
    bytes first = read_exactly(peer, 4 + 3);
    EXPECT_EQ(first, (bytes{0, 0, 0, 3, 1, 2, 3}));
    bytes head = read_exactly(peer, 4);
    ASSERT_EQ(head.size(), 4u);
    EXPECT_EQ(head[0], 0);
    EXPECT_EQ((size_t(head[1]) << 16) | (size_t(head[2]) << 8) | head[3], big.size());
    EXPECT_EQ(read_exactly(peer, big.size()), big);
    sender.join();
    ::close(peer);
}

TEST(tcp_transport, reassembles_a_frame_sent_in_pieces_and_reports_the_close) {
    loopback_listener l;
    tcp_transport t("127.0.0.1", l.port);
    int peer = ::accept(l.fd, nullptr, nullptr);
    ASSERT_GE(peer, 0);
    EXPECT_FALSE(t.ready()); // the socket is what to poll
    EXPECT_GE(t.wait_fd(), 0);
    const uint8_t frame[] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
    for (uint8_t b : frame) { // one byte at a time
        ASSERT_EQ(::send(peer, &b, 1, 0), 1);
    }
    EXPECT_EQ(t.receive(), (bytes{'h', 'e', 'l', 'l', 'o'}));
    ::close(peer);
    EXPECT_THROW(t.receive(), smb_error);
}

TEST(tcp_transport, a_refused_connection_is_an_smb_error) {
    uint16_t port;
    {
        loopback_listener l; // a port that was free a moment ago, now closed
        port = l.port;
    }
    EXPECT_THROW(tcp_transport("127.0.0.1", port), smb_error);
}
