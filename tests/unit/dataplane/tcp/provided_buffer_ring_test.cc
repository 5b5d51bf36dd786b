// The provided-buffer ring on its own: carved from the pool without touching what
// requests use, lent buffers that come back from another thread, and the worker
// woken for them when a connection waits.
#include "dataplane/tcp/provided_buffer_ring.hh"

#include <gtest/gtest.h>
#include <thread>

#include "dataplane/runtime/worker.hh"

using namespace smbx;

namespace {

struct ring_fixture : ::testing::Test {
    io_uring ring{};
    std::unique_ptr<buffer_pool> pool;
    worker waker{0, -1, idle_policy::adaptive};

    void SetUp() override {
        ASSERT_EQ(io_uring_queue_init(8, &ring, 0), 0);
        pool = std::make_unique<buffer_pool>(32 * 1024 * 1024);
        buffer_pool::set_global(pool.get());
    }
    void TearDown() override {
        buffer_pool::set_global(nullptr);
        pool.reset();
        io_uring_queue_exit(&ring);
    }
};

} // namespace

TEST_F(ring_fixture, carved_from_the_pool_as_reserved_and_given_back_on_destruction) {
    {
        provided_buffer_ring r(ring, 3, {64, 16 * 1024}, waker);
        EXPECT_EQ(r.available(), 64u);
        EXPECT_TRUE(pool->contains(r.buffer(0)));
        EXPECT_TRUE(pool->contains(r.buffer(63) + 16 * 1024 - 1));
        EXPECT_GE(pool->stats().reserved, 1u);
        EXPECT_EQ(pool->stats().in_use, 0u) << "reserved buffers are not requests' buffers";
    }
    EXPECT_EQ(pool->stats().reserved, 0u);
}

TEST_F(ring_fixture, reserve_leaves_three_quarters_of_a_class_to_requests) {
    // 32 MiB: the 1 MiB class has 14 buffers, so 3 can be reserved; the rest of the
    // ring comes in smaller chunks or from the heap, never from requests' share.
    std::vector<pool_buffer> held;
    for (int i = 0; i < 10; ++i) {
        auto b = pool->reserve(1024 * 1024);
        if (b.empty()) {
            break;
        }
        held.push_back(std::move(b));
    }
    EXPECT_EQ(held.size(), 3u); // 3 of the 1 MiB class, none of the single 8 MiB one
    auto request = pool->get(1024 * 1024);
    EXPECT_TRUE(request.in_pool());
    EXPECT_EQ(pool->stats().heap_fallbacks, 0u);
}

TEST_F(ring_fixture, lent_buffer_returns_to_the_ring_when_the_last_holder_lets_go) {
    provided_buffer_ring r(ring, 1, {8, 4096}, waker);
    r.take(5); // a receive completion filled buffer 5
    EXPECT_EQ(r.available(), 7u);
    pool_buffer a = r.lend(5, 0, 100);
    pool_buffer b = r.lend(5, 100, 200);
    EXPECT_TRUE(a.in_pool());
    EXPECT_EQ(a.data(), r.buffer(5));
    EXPECT_EQ(b.data(), r.buffer(5) + 100);
    EXPECT_EQ(r.lent_out(), 2u);
    r.release(5); // the framing is done with it; the two messages still hold it
    EXPECT_EQ(r.available(), 7u);
    std::thread([&] { a.reset(); }).join(); // an engine thread drops one message
    EXPECT_FALSE(r.has_returns());
    r.set_waiting(true);
    pool_buffer moved = std::move(b);
    std::thread([&] { moved.reset(); }).join();
    EXPECT_TRUE(r.has_returns());
    EXPECT_EQ(r.lent_out(), 0u);
    EXPECT_EQ(r.reclaim(), 1u);
    EXPECT_EQ(r.available(), 8u);
    EXPECT_FALSE(r.has_returns());
}

TEST_F(ring_fixture, a_buffer_only_the_worker_held_goes_back_at_once) {
    provided_buffer_ring r(ring, 2, {4, 4096}, waker);
    r.take(0);
    r.take(1);
    EXPECT_EQ(r.available(), 2u);
    r.release(1);
    r.release(0);
    EXPECT_EQ(r.available(), 4u);
    EXPECT_EQ(r.reclaim(), 0u);
}

TEST_F(ring_fixture, refuses_a_ring_size_that_is_not_a_power_of_two) {
    EXPECT_THROW(provided_buffer_ring(ring, 4, {12, 4096}, waker), std::invalid_argument);
}
