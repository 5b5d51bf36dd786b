// The inbox other workers put steered frames and learned neighbours into: everything
// put arrives exactly once, each producer's frames in the order it put them (a TCP
// flow comes from one producer), and taking empties it.
#include "dataplane/dpdk/worker_inbox.hh"

#include <gtest/gtest.h>

#include <thread>

using namespace smbx;
using namespace smbx::dpdk;

namespace {

// A frame whose two bytes say which producer put it and its sequence number there.
net::packet_buffer frame(uint8_t producer, uint8_t seq) {
    uint8_t bytes[2] = {producer, seq};
    return net::make_heap_packet(bytes);
}

TEST(worker_inbox, starts_empty_and_take_clears_pending) {
    worker_inbox inbox;
    EXPECT_FALSE(inbox.pending());
    std::vector<net::packet_buffer> out;
    out.push_back(frame(0, 0));
    inbox.put_frames(out);
    EXPECT_TRUE(out.empty()); // moved, not copied
    inbox.put_neighbor(net::ipv4_address::from_octets(10, 0, 0, 2), {{2, 0, 0, 0, 0, 2}});
    EXPECT_TRUE(inbox.pending());
    worker_inbox::batch b;
    inbox.take(b);
    EXPECT_FALSE(inbox.pending());
    EXPECT_EQ(b.frames.size(), 1u);
    ASSERT_EQ(b.neighbors.size(), 1u);
    EXPECT_EQ(b.neighbors[0].first, net::ipv4_address::from_octets(10, 0, 0, 2));
    worker_inbox::batch again;
    inbox.take(again);
    EXPECT_TRUE(again.frames.empty());
    EXPECT_TRUE(again.neighbors.empty());
}

TEST(worker_inbox, concurrent_producers_lose_nothing_and_keep_their_order) {
    constexpr int producers = 3, bursts = 200, per_burst = 5;
    worker_inbox inbox;
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p) {
        threads.emplace_back([&inbox, p] {
            int seq = 0;
            for (int b = 0; b < bursts; ++b) {
                std::vector<net::packet_buffer> burst;
                for (int i = 0; i < per_burst; ++i) {
                    burst.push_back(frame(uint8_t(p), uint8_t(seq++)));
                }
                inbox.put_frames(burst);
            }
        });
    }
    std::vector<int> next(producers, 0);
    int received = 0;
    auto consume = [&] {
        worker_inbox::batch b;
        inbox.take(b);
        for (auto& f : b.frames) {
            ASSERT_EQ(f.size(), 2u);
            int p = f.data()[0];
            EXPECT_EQ(f.data()[1], uint8_t(next[p]++)) << "producer " << p;
            ++received;
        }
    };
    while (received < producers * bursts * per_burst) {
        if (inbox.pending()) {
            consume();
        }
        if (::testing::Test::HasFailure()) {
            break;
        }
    }
    for (auto& t : threads) {
        t.join();
    }
    consume();
    EXPECT_EQ(received, producers * bursts * per_burst);
    EXPECT_FALSE(inbox.pending());
}

} // namespace
