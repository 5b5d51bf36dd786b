// The buffer pool: buffers come from the one region in the smallest class that fits,
// are page aligned, go back when released, and a class that runs dry falls back to the
// heap (counted) instead of failing.
#include "dataplane/runtime/buffer_pool.hh"

#include <gtest/gtest.h>
#include <thread>
#include <vector>

using namespace smbx;

TEST(buffer_pool, buffers_come_from_the_region_aligned_and_go_back) {
    buffer_pool pool(32 * 1024 * 1024);
    {
        auto small = pool.get(100);
        auto large = pool.get(1024 * 1024 + 112);
        EXPECT_TRUE(small.in_pool());
        EXPECT_TRUE(large.in_pool());
        EXPECT_TRUE(pool.contains(small.data()));
        EXPECT_TRUE(pool.contains(large.data() + large.size() - 1));
        EXPECT_EQ(small.size(), 100u);
        EXPECT_GE(large.capacity(), 1024u * 1024 + 112);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(small.data()) % 4096, 0u);
        EXPECT_EQ(reinterpret_cast<uintptr_t>(large.data()) % 4096, 0u);
        EXPECT_EQ(pool.stats().in_use, 2u);
    }
    EXPECT_EQ(pool.stats().in_use, 0u);
    EXPECT_EQ(pool.stats().gets, 2u);
}

TEST(buffer_pool, moving_a_buffer_keeps_one_owner) {
    buffer_pool pool(16 * 1024 * 1024);
    auto a = pool.get(4096);
    uint8_t* p = a.data();
    pool_buffer b = std::move(a);
    EXPECT_EQ(b.data(), p);
    EXPECT_EQ(a.data(), nullptr);
    EXPECT_EQ(pool.stats().in_use, 1u);
    b = pool_buffer();
    EXPECT_EQ(pool.stats().in_use, 0u);
}

TEST(buffer_pool, an_exhausted_class_borrows_a_larger_one_then_the_heap) {
    buffer_pool pool(16 * 1024 * 1024); // the 8 MiB class gets one or two buffers
    std::vector<pool_buffer> held;
    for (int i = 0; i < 8; ++i) {
        held.push_back(pool.get(8 * 1024 * 1024));
    }
    auto s = pool.stats();
    EXPECT_GT(s.heap_fallbacks, 0u);
    EXPECT_FALSE(held.back().in_pool());
    EXPECT_EQ(held.back().size(), 8u * 1024 * 1024); // still a usable buffer
    auto too_big = pool.get(buffer_pool::max_class_size + 1);
    EXPECT_FALSE(too_big.in_pool());
}

TEST(buffer_pool, adopted_vectors_are_not_copied) {
    bytes v(1000, 7);
    const uint8_t* p = v.data();
    pool_buffer b(std::move(v));
    EXPECT_EQ(b.data(), p);
    EXPECT_EQ(b.size(), 1000u);
    EXPECT_FALSE(b.in_pool());
}

TEST(buffer_pool, threads_get_and_put_concurrently) {
    buffer_pool pool(32 * 1024 * 1024);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&pool, t] {
            for (int i = 0; i < 20000; ++i) {
                auto b = pool.get(size_t(64 + (i % 3) * 30000));
                b.data()[0] = uint8_t(t);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(pool.stats().in_use, 0u);
    EXPECT_EQ(pool.stats().gets + pool.stats().heap_fallbacks, 80000u);
}

TEST(buffer_pool, aligned_at_puts_that_byte_on_a_page_boundary) {
    buffer_pool pool(32 * 1024 * 1024);
    for (size_t at : {112u, 164u, 4096u, 5000u}) {
        auto b = pool.get(1024 * 1024 + 112, at);
        ASSERT_TRUE(b.in_pool());
        EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data() + at) % 4096, 0u) << at;
        EXPECT_GE(b.capacity(), b.size());
        EXPECT_TRUE(pool.contains(b.data() + b.size() - 1));
    }
    EXPECT_EQ(pool.stats().in_use, 0u) << "the whole allocation went back";
    auto again = pool.get(8192 - 100, 112);
    EXPECT_TRUE(again.in_pool()) << "a class that fits data plus lead";
}
