// metrics_server: a scrape is answered with what control's main thread renders when
// the wake fd tells it to; unanswered, it gets 503 in bounded time; stopping right
// after starting does not hang.
#include "control/metrics_server.hh"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

namespace smbx {
namespace {

// A loopback port free a moment ago.
uint16_t free_port() {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

TEST(metrics_server, scrape_is_rendered_on_the_answering_thread) {
    std::string error;
    uint16_t port = free_port();
    auto m = metrics_server::start("127.0.0.1", port, error);
    ASSERT_TRUE(m) << error;
    std::atomic<bool> stop{false};
    std::atomic<int> renders{0};
    // Stands in for control's main loop: waits on the wake fd, then renders.
    std::thread control([&] {
        while (!stop) {
            pollfd p{m->wake_fd(), POLLIN, 0};
            if (poll(&p, 1, 20) > 0) {
                m->answer_waiting([&] { return "smbx_test " + std::to_string(++renders) + "\n"; });
            }
        }
    });
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(10, 0);
    auto r1 = c.Get("/metrics");
    ASSERT_TRUE(r1);
    EXPECT_EQ(r1->status, 200);
    EXPECT_EQ(r1->body, "smbx_test 1\n");
    EXPECT_EQ(r1->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    auto r2 = c.Get("/metrics");
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->body, "smbx_test 2\n"); // rendered anew for each scrape
    auto other = c.Get("/");
    ASSERT_TRUE(other);
    EXPECT_EQ(other->status, 404);
    EXPECT_EQ(renders, 2);
    stop = true;
    control.join();
}

TEST(metrics_server, unanswered_scrape_gets_503_in_bounded_time) {
    std::string error;
    uint16_t port = free_port();
    auto m = metrics_server::start("127.0.0.1", port, error);
    ASSERT_TRUE(m) << error;
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(15, 0);
    auto start = std::chrono::steady_clock::now();
    auto r = c.Get("/metrics");
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_LT(took, std::chrono::seconds(8));
}

TEST(metrics_server, stop_right_after_start_returns_and_frees_the_port) {
    uint16_t port = free_port();
    for (int i = 0; i < 20; ++i) {
        std::string error;
        auto start = std::chrono::steady_clock::now();
        auto m = metrics_server::start("127.0.0.1", port, error);
        ASSERT_TRUE(m) << error; // the previous round's socket is closed: bindable again
        m.reset();
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
    }
}

TEST(metrics_server, a_port_in_use_is_an_error) {
    std::string error;
    uint16_t port = free_port();
    auto first = metrics_server::start("127.0.0.1", port, error);
    ASSERT_TRUE(first) << error;
    auto second = metrics_server::start("127.0.0.1", port, error);
    EXPECT_FALSE(second);
    EXPECT_NE(error.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos)
        << error;
}

} // namespace
} // namespace smbx
