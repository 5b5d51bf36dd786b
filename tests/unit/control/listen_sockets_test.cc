// The control plane's listening sockets: a quick restart waits for the address that
// the instance before it still held for a moment, and gives up on one held for good.
#include "control/listen_sockets.hh"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using namespace smbx;

namespace {

// A listening socket on 127.0.0.1 at a kernel-chosen port; its port in `port`.
int listen_somewhere(uint16_t& port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4) != 0) {
        return -1;
    }
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

config::server_config config_for(uint16_t port) {
    config::server_config cfg;
    cfg.interfaces = {{"127.0.0.1", 32}};
    cfg.ports = {port};
    return cfg;
}

void close_all(listen_result& r) {
    for (auto& s : r.sockets) {
        close(s.fd);
    }
}

} // namespace

TEST(listen_sockets, waits_for_an_address_released_soon_after) {
    uint16_t port = 0;
    int held = listen_somewhere(port);
    ASSERT_GE(held, 0);
    std::thread releaser([held] {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        close(held);
    });
    auto start = std::chrono::steady_clock::now();
    auto r = open_listen_sockets(config_for(port));
    auto waited = std::chrono::steady_clock::now() - start;
    releaser.join();
    EXPECT_EQ(r.error, "");
    ASSERT_EQ(r.sockets.size(), 1u);
    EXPECT_GE(waited, std::chrono::milliseconds(300));
    close_all(r);
}

TEST(listen_sockets, gives_up_on_an_address_held_for_good) {
    uint16_t port = 0;
    int held = listen_somewhere(port);
    ASSERT_GE(held, 0);
    auto r = open_listen_sockets(config_for(port));
    EXPECT_TRUE(r.sockets.empty());
    EXPECT_NE(r.error.find("bind: Address already in use"), std::string::npos) << r.error;
    close(held);
}
