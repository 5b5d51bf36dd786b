// The TCP transport's receive side over real loopback sockets: receives into a
// provided-buffer ring carved from a real buffer pool (tcp/tcp_receive.cc). Small
// rings make the cases that matter happen on purpose: messages split across buffers,
// an empty ring (ENOBUFS) with more connections than buffers, a large message that
// continues with a plain receive into its page-aligned pool buffer, a peer leaving in
// the middle of a message.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <gtest/gtest.h>
#include <mutex>
#include <thread>
#include <vector>

#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/tcp/tcp_transport.hh"
#include "tests/unit/dataplane/tcp/loopback_helpers.hh"
#include "tests/unit/dataplane/tcp/pooled_transport_fixture.hh"

using namespace smbx;
using namespace smbx::test;

namespace {

// Records every message (its bytes, whether it lay in the pool's registered region,
// where byte 112 fell within a page) and echoes it back framed.
struct recording_events : transport_events {
    std::mutex mutex;
    std::vector<bytes> messages;
    std::vector<bool> in_pool;
    std::vector<size_t> offset_112_in_page;
    std::atomic<int> connects{0}, disconnects{0};
    std::atomic<int> stall_ms{0}; // the next message keeps the worker busy that long
    bool echo = true;

    void on_connect(const std::shared_ptr<transport_connection>& c) override {
        ++connects;
        c->max_incoming = transport_connection::max_message; // as after a SESSION_SETUP
    }
    void on_message(const std::shared_ptr<transport_connection>& c, pool_buffer m) override {
        if (int ms = stall_ms.exchange(0)) {
            std::this_thread::sleep_for(std::chrono::milliseconds(ms));
        }
        {
            std::lock_guard lock(mutex);
            messages.emplace_back(m.data(), m.data() + m.size());
            in_pool.push_back(m.in_pool());
            offset_112_in_page.push_back(m.size() > 112 ? uintptr_t(m.data() + 112) % 4096 : 0);
        }
        if (echo) {
            c->send(out_message(bytes(m.data(), m.data() + m.size())));
        }
    }
    void on_disconnect(const std::shared_ptr<transport_connection>&) override { ++disconnects; }
    size_t count() {
        std::lock_guard lock(mutex);
        return messages.size();
    }
};

bytes pattern(size_t n, uint8_t seed) {
    bytes b(n);
    for (size_t i = 0; i < n; ++i) {
        b[i] = uint8_t(seed + i * 13 + (i >> 8));
    }
    return b;
}

// Reads one framed message back.
bool read_message(int fd, bytes& out) {
    uint8_t h[4];
    if (!read_all(fd, h, 4)) {
        return false;
    }
    out.resize((size_t(h[1]) << 16) | (size_t(h[2]) << 8) | h[3]);
    return read_all(fd, out.data(), out.size());
}

// Summed over every thread's block: the transport's worker counts, not this thread.
using counters::data_path;
uint64_t counter(counters::counter data_path::*field) {
    return counters::total(field);
}

struct receive_fixture : pooled_transport_fixture {
    recording_events events;

    void start(provided_buffer_ring::config ring) {
        start_transport(events, 32 * 1024 * 1024, tcp_transport::zero_copy::no, ring);
    }
};

} // namespace

TEST_F(receive_fixture, many_small_messages_back_to_back_arrive_in_order_mostly_uncopied) {
    start({64, 16 * 1024});
    uint64_t lent = counter(&data_path::tcp_recv_lent_messages);
    uint64_t provided = counter(&data_path::tcp_recv_provided_bytes);
    int fd = connect_to(port);
    std::vector<bytes> sent;
    bytes wire;
    for (int i = 0; i < 2000; ++i) {
        sent.push_back(pattern(64 + size_t(i * 37) % 1400, uint8_t(i)));
        auto f = frame(sent.back());
        wire.insert(wire.end(), f.begin(), f.end());
    }
    // A reader drains the echoes while the whole stream goes out in one write.
    std::vector<bytes> echoed;
    std::thread reader([&] {
        bytes m;
        while (echoed.size() < sent.size() && read_message(fd, m)) {
            echoed.push_back(m);
        }
    });
    ASSERT_TRUE(write_all(fd, wire.data(), wire.size()));
    reader.join();
    ASSERT_EQ(echoed.size(), sent.size());
    for (size_t i = 0; i < sent.size(); ++i) {
        ASSERT_EQ(echoed[i], sent[i]) << "message " << i;
    }
    EXPECT_GE(counter(&data_path::tcp_recv_provided_bytes) - provided, wire.size());
    // Most messages lie within one 16 KiB buffer and are handed on in it, in the pool.
    EXPECT_GT(counter(&data_path::tcp_recv_lent_messages) - lent, sent.size() / 2);
    std::lock_guard lock(events.mutex);
    EXPECT_TRUE(
        std::all_of(events.in_pool.begin(), events.in_pool.end(), [](bool b) { return b; }));
    close(fd);
}

TEST_F(receive_fixture, message_and_header_split_across_provided_buffers) {
    start({16, 4096});
    uint64_t assembled = counter(&data_path::tcp_recv_assembled_bytes);
    int fd = connect_to(port);
    bytes m = pattern(10000, 7); // more than two 4 KiB buffers
    bytes f = frame(m);
    // Two bytes of the header, then the rest: separate receives, separate buffers.
    ASSERT_TRUE(write_all(fd, f.data(), 2));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(write_all(fd, f.data() + 2, f.size() - 2));
    bytes got;
    ASSERT_TRUE(read_message(fd, got));
    EXPECT_EQ(got, m);
    EXPECT_GE(counter(&data_path::tcp_recv_assembled_bytes) - assembled, m.size());
    close(fd);
}

TEST_F(receive_fixture, large_write_sized_message_lands_page_aligned_then_ring_resumes) {
    start({64, 16 * 1024});
    uint64_t direct = counter(&data_path::tcp_recv_direct_bytes);
    uint64_t assembled = counter(&data_path::tcp_recv_assembled_bytes);
    uint64_t lent = counter(&data_path::tcp_recv_lent_messages);
    int fd = connect_to(port);
    bytes large = pattern(1024 * 1024 + 112, 3);
    large[0] = 0xFE; // an SMB2 header: not sealed, the data starts at 112
    bytes small = pattern(200, 9);
    std::vector<bytes> sent;
    bytes got;
    // Several rounds: each large body continues with a plain receive, after which the
    // small one comes through the ring again.
    for (int round = 0; round < 4; ++round) {
        auto fl = frame(large);
        auto fs = frame(small);
        fl.insert(fl.end(), fs.begin(), fs.end());
        ASSERT_TRUE(write_all(fd, fl.data(), fl.size()));
        ASSERT_TRUE(read_message(fd, got));
        EXPECT_EQ(got, large);
        ASSERT_TRUE(read_message(fd, got));
        EXPECT_EQ(got, small);
    }
    // A ring receive takes one buffer, so at most one buffer of each body is copied
    // out of the ring and the rest goes straight into the body's pool buffer; the plain
    // receive stops at the body's end, so each small message comes alone in a ring
    // buffer and is lent.
    EXPECT_LE(counter(&data_path::tcp_recv_assembled_bytes) - assembled, 4 * 16 * 1024u);
    EXPECT_GE(counter(&data_path::tcp_recv_direct_bytes) - direct, 4 * (large.size() - 16 * 1024));
    EXPECT_GE(counter(&data_path::tcp_recv_lent_messages) - lent, 4u);
    std::lock_guard lock(events.mutex);
    for (size_t i = 0; i < events.messages.size(); ++i) {
        if (events.messages[i].size() == large.size()) {
            EXPECT_EQ(events.offset_112_in_page[i], 0u) << "WRITE data not page aligned";
            EXPECT_TRUE(events.in_pool[i]);
        }
    }
    close(fd);
}

TEST_F(receive_fixture, empty_ring_with_more_connections_than_buffers_recovers) {
    start({4, 4096});
    uint64_t no_buffers = counter(&data_path::tcp_recv_no_buffers);
    constexpr int n = 12;
    std::vector<int> fds;
    for (int i = 0; i < n + 1; ++i) {
        fds.push_back(connect_to(port));
    }
    ASSERT_TRUE(wait_for([&] { return events.connects.load() == n + 1; }));
    // The worker is held in one message while every other connection sends 3 buffers'
    // worth: when it enters the kernel again, 4 buffers serve 12 connections.
    events.stall_ms = 300;
    auto f0 = frame(bytes(10, 1));
    ASSERT_TRUE(write_all(fds[0], f0.data(), f0.size()));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::vector<bytes> sent;
    for (int i = 1; i <= n; ++i) {
        sent.push_back(pattern(12000, uint8_t(i)));
        auto f = frame(sent.back());
        ASSERT_TRUE(write_all(fds[size_t(i)], f.data(), f.size()));
    }
    bytes got;
    ASSERT_TRUE(read_message(fds[0], got));
    for (int i = 1; i <= n; ++i) {
        ASSERT_TRUE(read_message(fds[size_t(i)], got)) << "connection " << i;
        EXPECT_EQ(got, sent[size_t(i - 1)]);
    }
    EXPECT_GT(counter(&data_path::tcp_recv_no_buffers) - no_buffers, 0u);
    // Still serving: one more round on every connection.
    for (int i = 1; i <= n; ++i) {
        auto f = frame(sent[size_t(i - 1)]);
        ASSERT_TRUE(write_all(fds[size_t(i)], f.data(), f.size()));
        ASSERT_TRUE(read_message(fds[size_t(i)], got));
        EXPECT_EQ(got, sent[size_t(i - 1)]);
    }
    for (int fd : fds) {
        close(fd);
    }
}

TEST_F(receive_fixture, peer_closing_mid_message_is_a_disconnect_and_frees_everything) {
    start({16, 4096});
    events.echo = false;
    // A small message cut short, and a large one cut short in its direct receive.
    int a = connect_to(port);
    bytes m = frame(pattern(9000, 1));
    ASSERT_TRUE(write_all(a, m.data(), 5000));
    int b = connect_to(port);
    bytes l = frame(pattern(2 * 1024 * 1024, 2));
    ASSERT_TRUE(write_all(b, l.data(), 300 * 1024));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    close(a);
    close(b);
    ASSERT_TRUE(wait_for([&] { return events.disconnects.load() == 2; }));
    EXPECT_EQ(events.count(), 0u);
    EXPECT_EQ(pool->stats().in_use, 0u);
}
