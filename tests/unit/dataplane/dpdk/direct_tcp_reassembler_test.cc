#include "dataplane/dpdk/direct_tcp_reassembler.hh"

#include <gtest/gtest.h>

#include <algorithm>
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

} // namespace

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
    size_t big = direct_tcp_reassembler::max_message_size + 1;
    std::vector<uint8_t> too_long{0, uint8_t(big >> 16), uint8_t(big >> 8), uint8_t(big)};
    EXPECT_FALSE(direct_tcp_reassembler().feed(too_long, c.fn()));
    EXPECT_TRUE(c.messages.empty());
}
