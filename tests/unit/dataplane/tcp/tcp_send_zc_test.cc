// Zero-copy sends (IORING_OP_SENDMSG_ZC) over real loopback sockets: large payloads go
// zero-copy while the connection holds less than its limit of buffers awaiting the
// kernel's notifications, are copied past it, arrive intact and in order either way,
// and every buffer comes back.
#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/tcp/tcp_transport.hh"
#include "tests/unit/dataplane/tcp/loopback_helpers.hh"
#include "tests/unit/dataplane/tcp/pooled_transport_fixture.hh"

#include <chrono>
#include <functional>
#include <gtest/gtest.h>
#include <thread>
#include <unistd.h>

using namespace smbx;
using namespace smbx::test;

namespace {

// Summed over every thread's counter block: the transport's worker counts them.
uint64_t zero_copy_bytes() {
    return counters::total(&counters::data_path::payload_sent_zero_copy_bytes);
}
uint64_t over_limit_bytes() {
    return counters::total(&counters::data_path::payload_sent_over_zc_limit_bytes);
}

constexpr size_t mib = 1024 * 1024;

// Answers each request (its first byte: its number) with a 1 MiB pool-buffer payload filled
// with that byte, as a READ response carries its data.
struct payload_events : transport_events {
    void on_connect(const std::shared_ptr<transport_connection>& c) override {
        c->max_incoming = transport_connection::max_message;
    }
    void on_message(const std::shared_ptr<transport_connection>& c, pool_buffer m) override {
        uint8_t tag = m.size() ? m.data()[0] : 0;
        pool_buffer payload = pool_get(mib);
        std::fill(payload.data(), payload.data() + payload.size(), tag);
        c->send(out_message(bytes(8, tag), std::move(payload)));
    }
    void on_disconnect(const std::shared_ptr<transport_connection>&) override {}
};

struct send_zc_fixture : pooled_transport_fixture {
    payload_events events;

    void start(size_t held_limit) {
        start_transport(events, 128 * mib, tcp_transport::zero_copy::yes, {},
                        [&](tcp_transport& t) { t.set_zero_copy_held_limit(held_limit); });
    }
    uint64_t in_use() const { return pool->stats().in_use; }

    // Sends `count` requests in one write, then reads and checks every response.
    void request_and_check(int count) {
        int fd = connect_to(port);
        bytes all;
        for (int i = 0; i < count; ++i) {
            auto f = frame(bytes{uint8_t(i), 0, 0, 0}); // the framer's minimum is 4 bytes
            all.insert(all.end(), f.begin(), f.end());
        }
        ASSERT_TRUE(write_all(fd, all.data(), all.size()));
        bytes got(8 + mib);
        for (int i = 0; i < count; ++i) {
            uint8_t h[4];
            ASSERT_TRUE(read_all(fd, h, 4)) << "response " << i;
            size_t len = (size_t(h[1]) << 16) | (size_t(h[2]) << 8) | h[3];
            ASSERT_EQ(len, got.size());
            ASSERT_TRUE(read_all(fd, got.data(), len));
            ASSERT_EQ(std::count(got.begin(), got.end(), uint8_t(i)), ptrdiff_t(got.size()))
                << "response " << i << " carries another message's bytes";
        }
        close(fd);
    }
};

} // namespace

// Below the limit every large payload goes zero-copy.
TEST_F(send_zc_fixture, large_payloads_go_zero_copy_below_the_limit) {
    start(tcp_transport::default_zero_copy_held_limit);
    uint64_t zc = zero_copy_bytes();
    uint64_t copied = over_limit_bytes();
    request_and_check(8); // 8 MiB: under the 16 MiB limit however late the notifications
    // The client can have the last bytes before the worker has seen that send complete.
    EXPECT_TRUE(wait_for([&] { return zero_copy_bytes() - zc >= 8 * mib; }))
        << zero_copy_bytes() - zc << " bytes sent zero-copy";
    EXPECT_EQ(over_limit_bytes() - copied, 0u);
    EXPECT_TRUE(wait_for([&] { return in_use() == 0; })) << in_use() << " buffers not returned";
}

// With a limit of one message, a response that finds the previous one still held (its
// notification not in) is copied instead; zero-copy and copied sends interleave on the
// same socket without reordering or mixing bytes, and every buffer comes back.
TEST_F(send_zc_fixture, payloads_past_the_held_limit_are_copied_in_order) {
    start(mib);
    uint64_t zc = zero_copy_bytes();
    uint64_t copied = over_limit_bytes();
    constexpr int count = 48;
    request_and_check(count);
    uint64_t zc_before = zc, copied_before = copied;
    auto sum = [&] {
        zc = zero_copy_bytes() - zc_before;
        copied = over_limit_bytes() - copied_before;
        return copied / mib + zc / (mib + 12);
    };
    // The client can have the last bytes before the worker has seen that send complete.
    wait_for([&] { return sum() >= uint64_t(count); });
    EXPECT_GT(copied, 0u) << "48 back-to-back responses never found the previous one held";
    EXPECT_GE(zc, mib) << "the first response goes zero-copy";
    EXPECT_EQ(copied % mib, 0u) << "a message is copied whole or not at all";
    // A zero-copy message is sent whole that way: its 4 bytes of frame, 8 of head, and
    // the payload. Every message went one way or the other.
    EXPECT_EQ(zc % (mib + 12), 0u);
    EXPECT_EQ(sum(), uint64_t(count));
    EXPECT_TRUE(wait_for([&] { return in_use() == 0; })) << in_use() << " buffers not returned";
}
