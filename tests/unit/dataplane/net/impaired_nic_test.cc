#include "dataplane/net/impaired_nic.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

namespace smbx::net {
namespace {

// Frames carry their sequence number in the first four header bytes and one payload
// fragment of a block; the NIC records the numbers in the order it was given them.
struct recording_nic : nic {
    size_t send_burst(std::span<const tx_frame> frames) override {
        for (const auto& f : frames) {
            std::vector<uint8_t> bytes;
            f.copy_to(bytes);
            uint32_t n = 0;
            std::memcpy(&n, bytes.data(), 4);
            sent.push_back(n);
            payload_ok = payload_ok && bytes.size() == size_t(f.header_size) + 3 &&
                         bytes[f.header_size] == uint8_t(n);
        }
        return frames.size();
    }
    mac_address mac() const override { return {{2, 0, 0, 0, 0, 9}}; }
    std::vector<uint32_t> sent;
    bool payload_ok = true;
};

struct recording_receiver : frame_receiver {
    void receive(packet_buffer frame, time_us) override {
        uint32_t n = 0;
        std::memcpy(&n, frame.data(), 4);
        got.push_back(n);
    }
    std::vector<uint32_t> got;
};

// Sends frames [first, first + count) the way the stack does: each block is held for
// the burst and dropped after it. Returns how many blocks are still alive afterwards.
struct sender {
    int alive = 0;
    void burst(impaired_nic& nic, uint32_t first, uint32_t count) {
        std::vector<tx_frame> frames(count);
        std::vector<tx_block*> blocks;
        for (uint32_t i = 0; i < count; ++i) {
            uint32_t n = first + i;
            tx_frame& f = frames[i];
            std::memcpy(f.header.data(), &n, 4);
            f.header_size = 4;
            ++alive;
            auto* data = new uint8_t[3]{uint8_t(n), 0, 0};
            tx_block* b = make_tx_block(data, 3, [this, data] {
                --alive;
                delete[] data;
            });
            f.payload[0] = tx_fragment{data, 3, b};
            f.fragment_count = 1;
            blocks.push_back(b);
        }
        EXPECT_EQ(nic.send_burst(frames), count); // always reports every frame taken
        for (tx_block* b : blocks) {
            b->drop();
        }
    }
};

packet_buffer numbered_frame(uint32_t n, int* released) {
    auto* bytes = new uint8_t[64]{};
    std::memcpy(bytes, &n, 4);
    struct ctx {
        uint8_t* bytes;
        int* released;
    };
    return packet_buffer(
        bytes, 64,
        [](void* c) {
            auto* x = static_cast<ctx*>(c);
            ++*x->released;
            delete[] x->bytes;
            delete x;
        },
        new ctx{bytes, released});
}

// Every number sent exactly once, whatever the order.
void expect_each_once(std::vector<uint32_t> got, uint32_t count) {
    std::sort(got.begin(), got.end());
    std::vector<uint32_t> want(count);
    for (uint32_t i = 0; i < count; ++i) {
        want[i] = i;
    }
    EXPECT_EQ(got, want);
}

size_t inversions(const std::vector<uint32_t>& v) {
    size_t n = 0;
    for (size_t i = 1; i < v.size(); ++i) {
        n += v[i] < v[i - 1];
    }
    return n;
}

TEST(fate_picker, fractions_follow_the_configuration) {
    impairment c{0.1, 0.05, 0.2, 42};
    fate_picker p(c, 1);
    std::map<frame_fate, int> seen;
    const int draws = 200000;
    for (int i = 0; i < draws; ++i) {
        ++seen[p.next()];
    }
    // Binomial standard deviation is at most 0.0011 * draws: 5 of them either way.
    EXPECT_NEAR(seen[frame_fate::drop] / double(draws), 0.1, 0.006);
    EXPECT_NEAR(seen[frame_fate::duplicate] / double(draws), 0.05, 0.006);
    EXPECT_NEAR(seen[frame_fate::hold] / double(draws), 0.2, 0.006);
    EXPECT_NEAR(seen[frame_fate::pass] / double(draws), 0.65, 0.006);
}

TEST(fate_picker, same_seed_repeats_other_seed_or_stream_differs) {
    impairment c{0.2, 0.2, 0.2, 7};
    fate_picker a(c, 1), b(c, 1), other_stream(c, 2);
    impairment c2 = c;
    c2.seed = 8;
    fate_picker other_seed(c2, 1);
    int same = 0, differs_stream = 0, differs_seed = 0;
    for (int i = 0; i < 1000; ++i) {
        frame_fate x = a.next();
        same += x == b.next();
        differs_stream += x != other_stream.next();
        differs_seed += x != other_seed.next();
    }
    EXPECT_EQ(same, 1000);
    EXPECT_GT(differs_stream, 300);
    EXPECT_GT(differs_seed, 300);
}

TEST(impaired_nic, zero_impairment_passes_everything_in_order) {
    recording_nic inner;
    impaired_nic n(inner, impairment{});
    sender s;
    s.burst(n, 0, 100);
    std::vector<uint32_t> want(100);
    for (uint32_t i = 0; i < 100; ++i) {
        want[i] = i;
    }
    EXPECT_EQ(inner.sent, want);
    EXPECT_TRUE(inner.payload_ok);
    EXPECT_EQ(s.alive, 0);
    EXPECT_EQ(n.mac(), inner.mac());
}

TEST(impaired_nic, tx_drops_keep_order_of_the_rest) {
    recording_nic inner;
    impaired_nic n(inner, impairment{0.3, 0, 0, 3});
    sender s;
    for (uint32_t i = 0; i < 1000; i += 50) {
        s.burst(n, i, 50);
    }
    EXPECT_EQ(inner.sent.size() + n.counters().tx_dropped, 1000u);
    EXPECT_NEAR(double(n.counters().tx_dropped), 300, 60);
    EXPECT_EQ(inversions(inner.sent), 0u);
    EXPECT_EQ(s.alive, 0);
}

TEST(impaired_nic, tx_duplicates_follow_their_original) {
    recording_nic inner;
    impaired_nic n(inner, impairment{0, 0.2, 0, 4});
    sender s;
    s.burst(n, 0, 500);
    EXPECT_EQ(inner.sent.size(), 500 + n.counters().tx_duplicated);
    EXPECT_GT(n.counters().tx_duplicated, 50u);
    size_t adjacent_pairs = 0;
    for (size_t i = 1; i < inner.sent.size(); ++i) {
        ASSERT_LE(inner.sent[i - 1], inner.sent[i]);
        adjacent_pairs += inner.sent[i - 1] == inner.sent[i];
    }
    EXPECT_EQ(adjacent_pairs, n.counters().tx_duplicated);
    EXPECT_TRUE(inner.payload_ok);
    EXPECT_EQ(s.alive, 0);
}

TEST(impaired_nic, tx_reorder_sends_held_frame_after_the_next_and_keeps_its_block) {
    recording_nic inner;
    impaired_nic n(inner, impairment{0, 0, 0.3, 5});
    sender s;
    for (uint32_t i = 0; i < 1000; i += 1) {
        s.burst(n, i, 1); // one frame per burst: held frames cross bursts
    }
    n.flush(impaired_nic::max_hold); // the last one may still be held: too old now
    expect_each_once(inner.sent, 1000);
    EXPECT_GT(n.counters().tx_reordered, 100u);
    // Each held frame went right after the one that followed it.
    EXPECT_EQ(inversions(inner.sent), n.counters().tx_reordered);
    EXPECT_TRUE(inner.payload_ok); // the held payload stayed valid
    EXPECT_EQ(s.alive, 0);
}

TEST(impaired_nic, held_tx_frame_waits_for_max_hold_and_discard_gives_it_back) {
    recording_nic inner;
    impaired_nic n(inner, impairment{0, 0, 0.5, 1});
    sender s;
    uint32_t i = 0;
    while (n.counters().tx_reordered == 0) {
        s.burst(n, i++, 1);
    }
    size_t before = inner.sent.size();
    EXPECT_EQ(s.alive, 1); // held: its block lives on
    n.flush(impaired_nic::max_hold - 1);
    EXPECT_EQ(inner.sent.size(), before);
    n.flush(2 * impaired_nic::max_hold);
    EXPECT_EQ(inner.sent.size(), before + 1);
    EXPECT_EQ(inner.sent.back(), i - 1);
    EXPECT_EQ(s.alive, 0);

    while (n.counters().tx_reordered == 1) {
        s.burst(n, i++, 1);
    }
    EXPECT_EQ(s.alive, 1);
    n.discard();
    EXPECT_EQ(s.alive, 0);
    EXPECT_EQ(inner.sent.size(), i - 1); // the discarded one never went out
}

TEST(impaired_nic, rx_drops_duplicates_and_reorders_every_frame_accounted) {
    recording_nic inner;
    recording_receiver rx;
    impaired_nic n(inner, impairment{0.05, 0.05, 0.1, 9});
    n.set_receiver(rx);
    int released = 0;
    for (uint32_t i = 0; i < 2000; ++i) {
        n.receive(numbered_frame(i, &released), i);
    }
    n.flush(2000 + impaired_nic::max_hold);
    const auto& c = n.counters();
    EXPECT_GT(c.rx_dropped, 50u);
    EXPECT_GT(c.rx_duplicated, 50u);
    EXPECT_GT(c.rx_reordered, 100u);
    EXPECT_EQ(rx.got.size(), 2000 - c.rx_dropped + c.rx_duplicated);
    // Dropped numbers are missing, duplicated ones twice, every other one once.
    std::map<uint32_t, int> count;
    for (uint32_t x : rx.got) {
        ++count[x];
    }
    size_t twice = 0;
    for (auto& [x, k] : count) {
        ASSERT_LE(k, 2);
        twice += k == 2;
    }
    EXPECT_EQ(twice, c.rx_duplicated);
    EXPECT_EQ(count.size(), 2000 - c.rx_dropped);
    EXPECT_GE(inversions(rx.got), 1u);
    EXPECT_EQ(released, 2000); // every mbuf-like frame given back (copies are separate)
    EXPECT_TRUE(inner.sent.empty());
}

TEST(impaired_nic, held_rx_frame_is_delivered_after_the_next_or_on_flush_or_discarded) {
    recording_nic inner;
    recording_receiver rx;
    impaired_nic n(inner, impairment{0, 0, 0.5, 2});
    n.set_receiver(rx);
    int released = 0;
    uint32_t i = 0;
    while (n.counters().rx_reordered == 0) {
        n.receive(numbered_frame(i, &released), 100);
        ++i;
    }
    uint32_t held = i - 1;
    EXPECT_EQ(std::count(rx.got.begin(), rx.got.end(), held), 0);
    n.flush(100 + impaired_nic::max_hold - 1);
    EXPECT_EQ(std::count(rx.got.begin(), rx.got.end(), held), 0);
    n.flush(100 + impaired_nic::max_hold);
    EXPECT_EQ(rx.got.back(), held);

    while (n.counters().rx_reordered == 1) {
        n.receive(numbered_frame(i, &released), 5000);
        ++i;
    }
    size_t delivered = rx.got.size();
    n.discard();
    EXPECT_EQ(rx.got.size(), delivered);
    EXPECT_EQ(released, int(i));
}

} // namespace
} // namespace smbx::net
