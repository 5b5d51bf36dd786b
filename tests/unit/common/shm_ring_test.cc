#include "common/shm_ring.hh"

#include <cstdlib>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

using smbx::byte_span;
using smbx::bytes;
using smbx::shm_ring;

namespace {

struct ring_memory {
    ring_memory(uint32_t slots, uint32_t slot_size)
        : memory(static_cast<uint8_t*>(std::aligned_alloc(
                     64, (shm_ring::bytes_needed(slots, slot_size) + 63) / 64 * 64)),
                 &std::free),
          ring(shm_ring::format(memory.get(), slots, slot_size)) {}
    std::unique_ptr<uint8_t, decltype(&std::free)> memory;
    shm_ring ring;
};

bytes message(uint64_t n, size_t size) {
    bytes b(size);
    for (size_t i = 0; i < size; ++i) {
        b[i] = uint8_t(n + i);
    }
    return b;
}

} // namespace

TEST(shm_ring, empty_pop_returns_nothing) {
    ring_memory m(8, 64);
    EXPECT_TRUE(m.ring.empty());
    EXPECT_FALSE(m.ring.pop());
}

TEST(shm_ring, push_pop_preserves_bytes_and_order) {
    ring_memory m(8, 64);
    ASSERT_TRUE(m.ring.push(message(1, 10)));
    ASSERT_TRUE(m.ring.push(message(2, 0)));
    ASSERT_TRUE(m.ring.push(message(3, 56)));
    EXPECT_FALSE(m.ring.empty());
    EXPECT_EQ(m.ring.pop(), message(1, 10));
    EXPECT_EQ(m.ring.pop(), message(2, 0));
    EXPECT_EQ(m.ring.pop(), message(3, 56));
    EXPECT_TRUE(m.ring.empty());
}

TEST(shm_ring, full_ring_rejects_until_popped) {
    ring_memory m(4, 32);
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(m.ring.push(message(i, 4)));
    }
    EXPECT_FALSE(m.ring.push(message(9, 4)));
    EXPECT_EQ(m.ring.pop(), message(0, 4));
    EXPECT_TRUE(m.ring.push(message(9, 4)));
    for (int i : {1, 2, 3, 9}) {
        EXPECT_EQ(m.ring.pop(), message(i, 4));
    }
}

TEST(shm_ring, oversized_message_rejected) {
    ring_memory m(4, 32);
    EXPECT_EQ(m.ring.max_message(), 32u - shm_ring::slot_header);
    EXPECT_TRUE(m.ring.push(message(0, m.ring.max_message())));
    EXPECT_FALSE(m.ring.push(message(0, m.ring.max_message() + 1)));
    EXPECT_EQ(m.ring.pop(), message(0, m.ring.max_message()));
    EXPECT_TRUE(m.ring.empty());
}

TEST(shm_ring, wraparound_many_times) {
    ring_memory m(4, 32);
    for (uint64_t i = 0; i < 1000; ++i) {
        ASSERT_TRUE(m.ring.push(message(i, i % 24)));
        ASSERT_TRUE(m.ring.push(message(i + 1, (i + 1) % 24)));
        ASSERT_EQ(m.ring.pop(), message(i, i % 24));
        ASSERT_EQ(m.ring.pop(), message(i + 1, (i + 1) % 24));
    }
    EXPECT_TRUE(m.ring.empty());
}

TEST(shm_ring, attach_sees_formatted_ring) {
    ring_memory m(8, 64);
    ASSERT_TRUE(m.ring.push(message(5, 5)));
    auto other = shm_ring::attach(m.memory.get(), 8, 64);
    EXPECT_EQ(other.pop(), message(5, 5));
    EXPECT_TRUE(m.ring.empty());
}

// The other process can write the whole header: the geometry each side uses is its own,
// so a rewritten slot count or size moves no slot outside the ring (found by
// ipc_messages_fuzz: smbx-control read past the mapping on a data plane's say-so).
TEST(shm_ring, geometry_rewritten_in_shared_memory_is_ignored) {
    ring_memory m(4, 32);
    auto* h = reinterpret_cast<smbx::shm_ring_header*>(m.memory.get());
    h->slot_count = 1u << 31;
    h->slot_size = 4; // below the slot header: max_message() would wrap around
    EXPECT_EQ(m.ring.max_message(), 32u - shm_ring::slot_header);
    for (uint64_t i = 0; i < 10; ++i) {
        ASSERT_TRUE(m.ring.push(message(i, 24)));
        ASSERT_EQ(m.ring.pop(), message(i, 24));
    }
    EXPECT_FALSE(m.ring.push(message(0, 25)));
}

// Counters claiming more than the ring holds (head far past tail) are dropped at once,
// not read slot by slot (a consumer draining the ring would spin for 2^64 pops).
TEST(shm_ring, impossible_counters_are_dropped) {
    ring_memory m(4, 32);
    ASSERT_TRUE(m.ring.push(message(1, 8)));
    auto* h = reinterpret_cast<smbx::shm_ring_header*>(m.memory.get());
    h->head.store(~uint64_t(0) - 3);
    EXPECT_FALSE(m.ring.pop());
    EXPECT_TRUE(m.ring.empty());
    // And the ring goes on working from there.
    ASSERT_TRUE(m.ring.push(message(2, 8)));
    EXPECT_EQ(m.ring.pop(), message(2, 8));
    EXPECT_TRUE(m.ring.empty());
}

TEST(shm_ring, producer_consumer_threads_100k_in_order) {
    ring_memory m(64, 64);
    constexpr uint64_t count = 100000;
    std::thread producer([&] {
        for (uint64_t i = 0; i < count; ++i) {
            bytes b(8 + i % 32);
            std::memcpy(b.data(), &i, 8);
            while (!m.ring.push(b)) {
                std::this_thread::yield();
            }
        }
    });
    uint64_t expected = 0;
    bool in_order = true;
    while (expected < count) {
        auto b = m.ring.pop();
        if (!b) {
            std::this_thread::yield();
            continue;
        }
        uint64_t v = 0;
        std::memcpy(&v, b->data(), 8);
        if (v != expected || b->size() != 8 + expected % 32) {
            in_order = false;
            break;
        }
        ++expected;
    }
    producer.join();
    EXPECT_TRUE(in_order) << "at message " << expected;
    EXPECT_EQ(expected, count);
    EXPECT_TRUE(m.ring.empty());
}
