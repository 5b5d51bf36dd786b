#include "dataplane/dpdk/direct_tcp_reassembler.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

using namespace smbx;
using namespace smbx::dpdk;

namespace {

std::vector<uint8_t> framed(const std::vector<uint8_t>& body) {
    size_t n = body.size();
    std::vector<uint8_t> out(4 + n);
    out[1] = uint8_t(n >> 16);
    out[2] = uint8_t(n >> 8);
    out[3] = uint8_t(n);
    std::copy(body.begin(), body.end(), out.begin() + 4);
    return out;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) {
        v[i] = uint8_t(i * 31 + seed);
    }
    return v;
}

struct collector {
    std::vector<std::vector<uint8_t>> messages;
    direct_tcp_reassembler::deliver_fn fn() {
        return [this](pool_buffer m) { messages.emplace_back(m.data(), m.data() + m.size()); };
    }
};

// A received segment whose release is observed, as an mbuf's would be.
struct segment_source {
    std::vector<std::vector<uint8_t>> frames;
    std::atomic<int> released{0};

    net::packet_buffer make(std::vector<uint8_t> bytes) {
        frames.push_back(std::move(bytes));
        auto& f = frames.back();
        return net::packet_buffer(
            f.data(), f.size(),
            [](void* c) { static_cast<segment_source*>(c)->released.fetch_add(1); }, this);
    }
    segment_source() { frames.reserve(16); } // stable frame addresses
};

struct holder {
    std::vector<pool_buffer> messages;
    direct_tcp_reassembler::deliver_fn fn() {
        return [this](pool_buffer m) { messages.push_back(std::move(m)); };
    }
    std::vector<uint8_t> bytes(size_t i) const {
        return {messages[i].data(), messages[i].data() + messages[i].size()};
    }
};

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

} // namespace

TEST(direct_tcp_reassembler_lend, one_segment_one_message_is_lent_in_place) {
    segment_source src;
    uint64_t outstanding = 0;
    auto seg = src.make(framed(pattern(200, 1)));
    seg.track(&outstanding);
    const uint8_t* frame = seg.data();
    direct_tcp_reassembler r;
    holder h;
    ASSERT_TRUE(r.feed(std::move(seg), true, h.fn()));
    ASSERT_EQ(h.messages.size(), 1u);
    EXPECT_EQ(h.messages[0].data(), frame + 4); // a view of the segment, not a copy
    EXPECT_EQ(h.bytes(0), pattern(200, 1));
    EXPECT_FALSE(h.messages[0].in_pool());
    EXPECT_EQ(r.messages_lent(), 1u);
    EXPECT_EQ(r.messages_assembled(), 0u);
    // Held by the message, no longer by the stack's (worker-only) counter.
    EXPECT_EQ(outstanding, 0u);
    EXPECT_EQ(src.released.load(), 0);
    EXPECT_EQ(direct_tcp_reassembler::segments_lent(), 1u);
    h.messages.clear();
    EXPECT_EQ(src.released.load(), 1);
    EXPECT_EQ(direct_tcp_reassembler::segments_lent(), 0u);
}

TEST(direct_tcp_reassembler_lend, two_messages_share_one_segment_until_both_are_dropped) {
    segment_source src;
    direct_tcp_reassembler r;
    holder h;
    ASSERT_TRUE(
        r.feed(src.make(concat({framed(pattern(64, 2)), framed(pattern(30, 3))})), true, h.fn()));
    ASSERT_EQ(h.messages.size(), 2u);
    EXPECT_EQ(r.messages_lent(), 2u);
    // The engine decrypts in place: writing one message leaves the other intact.
    std::fill(h.messages[0].data(), h.messages[0].data() + h.messages[0].size(), 0xEE);
    EXPECT_EQ(h.bytes(1), pattern(30, 3));
    h.messages.erase(h.messages.begin());
    EXPECT_EQ(src.released.load(), 0);
    // The engine may drop it on a request thread.
    std::thread([m = std::move(h.messages[0])]() mutable { m.reset(); }).join();
    EXPECT_EQ(src.released.load(), 1);
    EXPECT_EQ(direct_tcp_reassembler::segments_lent(), 0u);
}

TEST(direct_tcp_reassembler_lend, message_split_across_segments_is_assembled) {
    segment_source src;
    auto f = framed(pattern(3000, 4));
    direct_tcp_reassembler r;
    holder h;
    ASSERT_TRUE(r.feed(src.make({f.begin(), f.begin() + 1448}), true, h.fn()));
    EXPECT_EQ(src.released.load(), 1); // copied out: the segment goes back at once
    ASSERT_TRUE(r.feed(src.make({f.begin() + 1448, f.begin() + 2896}), true, h.fn()));
    ASSERT_TRUE(r.feed(src.make({f.begin() + 2896, f.end()}), true, h.fn()));
    ASSERT_EQ(h.messages.size(), 1u);
    EXPECT_EQ(h.bytes(0), pattern(3000, 4));
    EXPECT_EQ(r.messages_assembled(), 1u);
    EXPECT_EQ(r.messages_lent(), 0u);
    EXPECT_EQ(src.released.load(), 3);
    EXPECT_EQ(direct_tcp_reassembler::segments_lent(), 0u);
}

TEST(direct_tcp_reassembler_lend, header_split_across_segments_then_lending_resumes) {
    // Segment 1: a whole message, then 2 bytes of the next header. Segment 2: the rest
    // of that header and its body, then a whole third message, then part of a fourth.
    // Segment 3: the rest of the fourth.
    auto a = framed(pattern(40, 5)), b = framed(pattern(50, 6)), c = framed(pattern(60, 7)),
         d = framed(pattern(70, 8));
    segment_source src;
    direct_tcp_reassembler r;
    holder h;
    ASSERT_TRUE(r.feed(src.make(concat({a, {b[0], b[1]}})), true, h.fn()));
    ASSERT_TRUE(r.feed(src.make(concat({{b.begin() + 2, b.end()}, c, {d.begin(), d.begin() + 30}})),
                       true, h.fn()));
    ASSERT_TRUE(r.feed(src.make({d.begin() + 30, d.end()}), true, h.fn()));
    ASSERT_EQ(h.messages.size(), 4u);
    EXPECT_EQ(h.bytes(0), pattern(40, 5));
    EXPECT_EQ(h.bytes(1), pattern(50, 6));
    EXPECT_EQ(h.bytes(2), pattern(60, 7));
    EXPECT_EQ(h.bytes(3), pattern(70, 8));
    EXPECT_EQ(r.messages_lent(), 2u);      // a and c
    EXPECT_EQ(r.messages_assembled(), 2u); // b (header split) and d (body split)
    EXPECT_EQ(src.released.load(), 1);     // segment 3 held nothing whole
    EXPECT_EQ(r.pending(), 0u);
    h.messages.clear();
    EXPECT_EQ(src.released.load(), 3);
}

TEST(direct_tcp_reassembler_lend, without_leave_to_lend_everything_is_copied) {
    segment_source src;
    direct_tcp_reassembler r;
    holder h;
    ASSERT_TRUE(
        r.feed(src.make(concat({framed(pattern(10, 9)), framed(pattern(12, 10))})), false, h.fn()));
    ASSERT_EQ(h.messages.size(), 2u);
    EXPECT_EQ(r.messages_lent(), 0u);
    EXPECT_EQ(r.messages_assembled(), 2u);
    EXPECT_EQ(src.released.load(), 1);
    EXPECT_EQ(h.bytes(1), pattern(12, 10));
}

TEST(direct_tcp_reassembler_lend, bad_frame_after_a_lent_message) {
    segment_source src;
    std::vector<uint8_t> bad{0x81, 0, 0, 4, 1, 2, 3, 4};
    direct_tcp_reassembler r;
    holder h;
    EXPECT_FALSE(r.feed(src.make(concat({framed(pattern(8, 11)), bad})), true, h.fn()));
    ASSERT_EQ(h.messages.size(), 1u); // what came before still reached the engine
    EXPECT_EQ(src.released.load(), 0);
    h.messages.clear();
    EXPECT_EQ(src.released.load(), 1);
}

TEST(direct_tcp_reassembler, messages_split_at_every_size) {
    // Three messages (one large enough to be aligned for WRITE data) in one stream, fed
    // in pieces of every size from 1 byte to 7 bytes, then in 1448-byte segments.
    std::vector<std::vector<uint8_t>> bodies = {pattern(68, 1), pattern(70000, 2), pattern(4, 3)};
    std::vector<uint8_t> stream;
    for (const auto& b : bodies) {
        auto f = framed(b);
        stream.insert(stream.end(), f.begin(), f.end());
    }
    for (size_t piece : {size_t(1), size_t(2), size_t(3), size_t(7), size_t(1448)}) {
        direct_tcp_reassembler r;
        collector c;
        for (size_t pos = 0; pos < stream.size(); pos += piece) {
            size_t n = std::min(piece, stream.size() - pos);
            ASSERT_TRUE(r.feed({stream.data() + pos, n}, c.fn())) << piece;
        }
        EXPECT_EQ(c.messages, bodies) << "piece " << piece;
        EXPECT_EQ(r.pending(), 0u);
    }
}

TEST(direct_tcp_reassembler, several_messages_in_one_segment) {
    auto a = framed(pattern(10, 5)), b = framed(pattern(20, 6));
    a.insert(a.end(), b.begin(), b.end());
    a.push_back(0); // the start of a third header
    direct_tcp_reassembler r;
    collector c;
    ASSERT_TRUE(r.feed(a, c.fn()));
    ASSERT_EQ(c.messages.size(), 2u);
    EXPECT_EQ(c.messages[1], pattern(20, 6));
}

TEST(direct_tcp_reassembler, partial_message_is_held_back) {
    auto f = framed(pattern(100, 7));
    direct_tcp_reassembler r;
    collector c;
    ASSERT_TRUE(r.feed({f.data(), 50}, c.fn()));
    EXPECT_TRUE(c.messages.empty());
    EXPECT_EQ(r.pending(), 46u);
    ASSERT_TRUE(r.feed({f.data() + 50, f.size() - 50}, c.fn()));
    ASSERT_EQ(c.messages.size(), 1u);
}

TEST(direct_tcp_reassembler, bad_frames_are_rejected) {
    collector c;
    // MS-SMB2 2.1: the first byte is zero.
    std::vector<uint8_t> netbios_session{0x81, 0, 0, 4, 1, 2, 3, 4};
    EXPECT_FALSE(direct_tcp_reassembler().feed(netbios_session, c.fn()));
    std::vector<uint8_t> too_short{0, 0, 0, 3, 1, 2, 3};
    EXPECT_FALSE(direct_tcp_reassembler().feed(too_short, c.fn()));
    size_t big = smbx::max_message_size + 1;
    std::vector<uint8_t> too_long{0, uint8_t(big >> 16), uint8_t(big >> 8), uint8_t(big)};
    EXPECT_FALSE(direct_tcp_reassembler().feed(too_long, c.fn()));
    EXPECT_TRUE(c.messages.empty());
}

TEST(direct_tcp_reassembler, message_over_the_connection_limit_is_refused_at_its_header) {
    // transport.hh max_incoming: 128 KiB before a session; a frame announcing more is
    // refused before any of its body is taken.
    auto big = framed(pattern(200 * 1024, 12));
    collector c;
    direct_tcp_reassembler r;
    r.set_max_message(128 * 1024);
    EXPECT_FALSE(r.feed({big.data(), 4}, c.fn()));
    EXPECT_EQ(r.pending(), 0u);
    // Raised (a session exists): the same message is accepted.
    direct_tcp_reassembler raised;
    raised.set_max_message(128 * 1024);
    raised.set_max_message(8 * 1024 * 1024 + 64 * 1024);
    ASSERT_TRUE(raised.feed(big, c.fn()));
    ASSERT_EQ(c.messages.size(), 1u);
    EXPECT_EQ(c.messages[0].size(), 200u * 1024);
    // Never above max_message_size.
    direct_tcp_reassembler capped;
    capped.set_max_message(16 * 1024 * 1024);
    size_t over = smbx::max_message_size + 1;
    std::vector<uint8_t> h{0, uint8_t(over >> 16), uint8_t(over >> 8), uint8_t(over)};
    EXPECT_FALSE(capped.feed(h, c.fn()));
}
