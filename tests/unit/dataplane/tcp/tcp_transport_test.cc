// The io_uring TCP transport over real loopback sockets: Direct TCP framing (MS-SMB2
// 2.1), large messages, bad frames, and sends from other threads.
#include "dataplane/tcp/tcp_transport.hh"
#include "tests/unit/dataplane/tcp/loopback_helpers.hh"

#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <thread>
#include <unistd.h>

using namespace smbx;
using namespace smbx::test;

namespace {

// Echoes every message back. send() always goes through the transport's posted queue
// and eventfd, the same path the engine's executor threads use.
struct echo_events : transport_events {
    std::atomic<int> connects{0}, messages{0}, disconnects{0};
    bool as_if_logged_on = true; // what the engine allows after a SESSION_SETUP
    void on_connect(const std::shared_ptr<transport_connection>& c) override {
        ++connects;
        if (as_if_logged_on) {
            c->max_incoming = transport_connection::max_message;
        }
    }
    void on_message(const std::shared_ptr<transport_connection>& c, pool_buffer m) override {
        ++messages;
        // Half in the head, half as payload: the two go out as one framed message.
        size_t half = m.size() / 2;
        bytes head(m.data(), m.data() + half);
        pool_buffer tail(bytes(m.data() + half, m.data() + m.size()));
        c->send(out_message(std::move(head), std::move(tail)));
    }
    void on_disconnect(const std::shared_ptr<transport_connection>&) override { ++disconnects; }
};

struct transport_fixture : ::testing::Test {
    echo_events events;
    uint16_t port = 0;
    int listen_fd = -1;
    std::unique_ptr<worker> runner;
    std::unique_ptr<tcp_transport> transport;

    void SetUp() override {
        listen_fd = listen_on_loopback(port);
        runner = std::make_unique<worker>(0, -1, idle_policy::adaptive);
        transport = std::make_unique<tcp_transport>(std::vector<int>{listen_fd}, events, *runner);
        runner->add_poller(transport.get());
        runner->start();
    }
    void TearDown() override {
        runner->stop();
        runner->join();
        transport.reset();
        runner.reset();
        close(listen_fd);
    }
};

} // namespace

TEST_F(transport_fixture, echoes_small_and_large_messages_in_order) {
    int fd = connect_to(port);
    bytes small(100);
    for (size_t i = 0; i < small.size(); ++i) {
        small[i] = uint8_t(i);
    }
    bytes large(3 * 1024 * 1024 + 17);
    for (size_t i = 0; i < large.size(); ++i) {
        large[i] = uint8_t(i * 7);
    }
    // Two messages in one write, then a large one split across many segments.
    bytes both = frame(small);
    auto f2 = frame(small);
    both.insert(both.end(), f2.begin(), f2.end());
    ASSERT_TRUE(write_all(fd, both.data(), both.size()));
    auto fl = frame(large);
    ASSERT_TRUE(write_all(fd, fl.data(), fl.size()));
    for (const bytes* expect : {&small, &small, &large}) {
        uint8_t h[4];
        ASSERT_TRUE(read_all(fd, h, 4));
        size_t len = (size_t(h[1]) << 16) | (size_t(h[2]) << 8) | h[3];
        ASSERT_EQ(len, expect->size());
        bytes got(len);
        ASSERT_TRUE(read_all(fd, got.data(), len));
        EXPECT_EQ(got, *expect);
    }
    close(fd);
}

TEST_F(transport_fixture, bad_frame_type_closes_only_that_connection) {
    int good = connect_to(port);
    int bad = connect_to(port);
    uint8_t junk[8] = {0x85, 0, 0, 4, 1, 2, 3, 4}; // NetBIOS keepalive-ish type: not ours
    ASSERT_TRUE(write_all(bad, junk, sizeof junk));
    EXPECT_TRUE(closed_by_peer(bad));
    auto f = frame(bytes(10, 0xAB));
    ASSERT_TRUE(write_all(good, f.data(), f.size()));
    bytes got(f.size());
    ASSERT_TRUE(read_all(good, got.data(), got.size()));
    EXPECT_EQ(got, f);
    close(good);
    close(bad);
}

TEST_F(transport_fixture, oversized_frame_is_refused) {
    int fd = connect_to(port);
    uint8_t h[4] = {0, 0xFF, 0xFF, 0xFF}; // 16 MiB - 1: above max_message_size
    ASSERT_TRUE(write_all(fd, h, 4));
    EXPECT_TRUE(closed_by_peer(fd));
    close(fd);
}

TEST_F(transport_fixture, large_frame_before_a_session_is_refused) {
    events.as_if_logged_on = false;
    int fd = connect_to(port);
    // One byte over what a connection without a session may send: closed at the
    // header, before any buffer of that size is taken.
    uint32_t len = transport_connection::pre_session_max_message + 1;
    uint8_t h[4] = {0, uint8_t(len >> 16), uint8_t(len >> 8), uint8_t(len)};
    ASSERT_TRUE(write_all(fd, h, 4));
    EXPECT_TRUE(closed_by_peer(fd));
    close(fd);
    EXPECT_EQ(events.messages.load(), 0);
    // At the limit it is taken.
    int ok = connect_to(port);
    auto f = frame(bytes(transport_connection::pre_session_max_message, 0x5A));
    ASSERT_TRUE(write_all(ok, f.data(), f.size()));
    bytes got(f.size());
    ASSERT_TRUE(read_all(ok, got.data(), got.size()));
    EXPECT_EQ(got, f);
    close(ok);
}

TEST_F(transport_fixture, disconnect_is_reported) {
    int fd = connect_to(port);
    close(fd);
    for (int i = 0; i < 200 && events.disconnects.load() == 0; ++i) {
        usleep(10000);
    }
    EXPECT_EQ(events.connects.load(), 1);
    EXPECT_EQ(events.disconnects.load(), 1);
}
