// The buffer pool: buffers come from the one region in the smallest class that fits,
// are page aligned, go back when released, and a class that runs dry falls back to the
// heap (counted) instead of failing.
#include "dataplane/runtime/buffer_pool.hh"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
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

// Per-thread caches: buffers taken on one thread and freed on another, by many threads
// at once, are never handed out twice, all come back, and in_use stays exact.
TEST(buffer_pool, buffers_freed_on_other_threads_are_never_handed_out_twice) {
    buffer_pool pool(32 * 1024 * 1024);
    constexpr int threads = 4;
    constexpr int rounds = 3000;
    constexpr size_t batch = 16;
    // Each thread takes a batch, stamps each buffer with a value no other holder
    // writes, and hands the batch to the next thread, which checks the stamps (a buffer
    // handed out twice would carry another holder's) and frees it.
    std::mutex m;
    std::vector<std::vector<std::pair<uint64_t, pool_buffer>>> inbox(threads);
    std::atomic<int> doubles{0};
    std::atomic<uint64_t> fallbacks{0};
    auto stamp_of = [](const pool_buffer& b) {
        uint64_t v;
        std::memcpy(&v, b.data(), sizeof(v));
        return v;
    };
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
        running.emplace_back([&, t] {
            for (int r = 0; r < rounds; ++r) {
                std::vector<std::pair<uint64_t, pool_buffer>> mine;
                for (size_t i = 0; i < batch; ++i) {
                    auto b = pool.get(i % 4 == 0 ? 60000 : 100);
                    if (!b.in_pool()) {
                        ++fallbacks;
                        continue;
                    }
                    uint64_t stamp = uint64_t(t) << 48 | uint64_t(r) << 16 | i;
                    std::memcpy(b.data(), &stamp, sizeof(stamp));
                    mine.emplace_back(stamp, std::move(b));
                }
                std::vector<std::pair<uint64_t, pool_buffer>> theirs;
                {
                    std::lock_guard lock(m);
                    theirs = std::exchange(inbox[size_t(t)], {});
                    auto& next = inbox[size_t((t + 1) % threads)];
                    for (auto& b : mine) {
                        next.push_back(std::move(b));
                    }
                }
                for (auto& [stamp, b] : theirs) {
                    doubles += stamp_of(b) != stamp;
                }
                theirs.clear(); // freed here, taken on another thread
            }
        });
    }
    for (auto& t : running) {
        t.join();
    }
    std::thread([&] { inbox.clear(); }).join(); // the last batches, freed by a thread that ends
    EXPECT_EQ(doubles.load(), 0);
    auto s = pool.stats();
    EXPECT_EQ(s.in_use, 0u) << "every buffer came back";
    EXPECT_EQ(s.cached, 0u) << "threads that ended gave their caches back";
    EXPECT_EQ(s.gets + s.heap_fallbacks, uint64_t(threads) * rounds * batch);
    EXPECT_EQ(s.heap_fallbacks, fallbacks.load());
    // And they are all there to take again: as many distinct buffers as the region has.
    std::set<uint8_t*> distinct;
    std::vector<pool_buffer> all;
    for (uint64_t i = 0; i < s.buffers; ++i) {
        auto b = pool.get(1);
        if (b.in_pool()) {
            distinct.insert(b.data());
            all.push_back(std::move(b));
        }
    }
    EXPECT_EQ(distinct.size(), s.buffers);
    EXPECT_EQ(all.size(), s.buffers);
}

// Every get returns a buffer nobody else holds, checked by address across threads.
TEST(buffer_pool, concurrent_holders_never_share_a_buffer) {
    buffer_pool pool(32 * 1024 * 1024);
    std::mutex m;
    std::set<uint8_t*> held;
    std::atomic<int> doubles{0};
    std::vector<std::thread> running;
    for (int t = 0; t < 4; ++t) {
        running.emplace_back([&] {
            std::vector<pool_buffer> mine;
            for (int i = 0; i < 20000; ++i) {
                if (mine.size() < 40) {
                    auto b = pool.get(size_t(64 + (i % 3) * 30000));
                    if (b.in_pool()) {
                        std::lock_guard lock(m);
                        if (!held.insert(b.data()).second) {
                            ++doubles;
                        }
                    }
                    mine.push_back(std::move(b));
                } else {
                    for (auto& b : mine) {
                        if (b.in_pool()) {
                            std::lock_guard lock(m);
                            held.erase(b.data());
                        }
                    }
                    mine.clear();
                }
            }
            for (auto& b : mine) {
                if (b.in_pool()) {
                    std::lock_guard lock(m);
                    held.erase(b.data());
                }
            }
        });
    }
    for (auto& t : running) {
        t.join();
    }
    EXPECT_EQ(doubles.load(), 0);
    EXPECT_EQ(pool.stats().in_use, 0u);
}

// A thread's cache is bounded: freeing many buffers on one thread sends all but a few
// back to the shared list, where another thread finds them.
TEST(buffer_pool, a_thread_cache_is_bounded_and_flushes_to_the_shared_list) {
    buffer_pool pool(16 * 1024 * 1024);
    const uint64_t buffers = pool.stats().buffers;
    std::vector<pool_buffer> held;
    for (int i = 0; i < 150; ++i) {
        held.push_back(pool.get(100));
        ASSERT_TRUE(held.back().in_pool());
    }
    EXPECT_EQ(pool.stats().in_use, 150u);
    held.clear();
    auto s = pool.stats();
    EXPECT_EQ(s.in_use, 0u);
    EXPECT_LE(s.cached, buffer_pool::max_cached) << "bounded";
    EXPECT_GT(s.cached, 0u) << "the common put took no lock";

    // Another thread can take every buffer of the small class but what this thread
    // caches: the rest went back to the shared list.
    size_t small_class_free = 0;
    std::thread([&] {
        std::vector<pool_buffer> all;
        while (true) {
            auto b = pool.get(100);
            if (!b.in_pool() || b.capacity() > 8192) {
                break;
            }
            all.push_back(std::move(b));
        }
        small_class_free = all.size();
    }).join();
    EXPECT_GE(small_class_free + s.cached, 150u);
    EXPECT_EQ(pool.stats().in_use, 0u);
    EXPECT_EQ(pool.stats().buffers, buffers);
}

// A pool destroyed while threads still have caches of it leaves them harmless: the
// threads go on with a new pool (even at the same address) and end cleanly.
TEST(buffer_pool, threads_outlive_a_pool_they_cached_from) {
    std::atomic<int> phase{0};
    std::atomic<bool> ok{true};
    buffer_pool* current = nullptr;
    std::thread worker([&] {
        for (int round = 1; round <= 3; ++round) {
            while (phase != round * 2 - 1) {
                std::this_thread::yield();
            }
            {
                auto b = current->get(100);
                ok = ok && b.in_pool();
            }
            ok = ok && current->stats().cached > 0; // the freed buffer stays cached
            phase = round * 2;
        }
    });
    for (int round = 1; round <= 3; ++round) {
        auto pool = std::make_unique<buffer_pool>(16 * 1024 * 1024);
        current = pool.get();
        phase = round * 2 - 1;
        while (phase != round * 2) {
            std::this_thread::yield();
        }
        EXPECT_EQ(pool->stats().in_use, 0u);
        // destroyed here while the worker thread still caches one of its buffers
    }
    worker.join();
    EXPECT_TRUE(ok);
}
