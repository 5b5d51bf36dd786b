// The Direct TCP framer (MS-SMB2 2.1) fed the way each backend feeds it: the io_uring
// backend with ring buffers it may lend from, then the rest of a large message received
// straight into the placed pool buffer (direct_target); the DPDK backend with segments
// of any size, split headers, several messages in one segment. Plus the bad-frame rules
// and the connection's limit before and after a session.
#include "dataplane/runtime/direct_tcp_framer.hh"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

using namespace smbx;
using status = direct_tcp_framer::status;

namespace {

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) {
        v[i] = uint8_t(i * 31 + seed + (i >> 9));
    }
    return v;
}

std::vector<uint8_t> framed(const std::vector<uint8_t>& body) {
    std::vector<uint8_t> out(4);
    direct_tcp::encode_header(out.data(), body.size());
    out.insert(out.end(), body.begin(), body.end());
    return out;
}

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts) {
    std::vector<uint8_t> out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

// A received piece that can lend views of itself, as a provided ring buffer or an mbuf
// does: counts the views still held, and can refuse to lend (a ring running low).
struct lending_piece final : buffer_lender {
    std::vector<uint8_t> bytes;
    int held = 0;
    bool willing = true;

    explicit lending_piece(std::vector<uint8_t> b) : bytes(std::move(b)) {}
    direct_tcp_framer::lend_fn lender() {
        return [this](size_t offset, size_t length) {
            if (!willing) {
                return pool_buffer();
            }
            EXPECT_LE(offset + length, bytes.size());
            ++held;
            return pool_buffer::lent(bytes.data() + offset, length, false, *this, 0);
        };
    }
    void give_back(uint32_t) noexcept override { --held; }
};

struct sink {
    std::vector<pool_buffer> messages;
    direct_tcp_framer::deliver_fn fn() {
        return [this](pool_buffer m) { messages.push_back(std::move(m)); };
    }
    std::vector<uint8_t> bytes(size_t i) const {
        return {messages.at(i).data(), messages.at(i).data() + messages.at(i).size()};
    }
};

// Placement needs the data plane's pool (heap fallbacks are not placed).
struct global_pool {
    buffer_pool pool{32 * 1024 * 1024};
    global_pool() { buffer_pool::set_global(&pool); }
    ~global_pool() { buffer_pool::set_global(nullptr); }
};

direct_tcp_framer session_framer() {
    direct_tcp_framer f;
    f.set_max_message(max_message_size); // as after a SESSION_SETUP
    return f;
}

} // namespace

// io_uring: a ring buffer holding whole messages and the start of the next one.
TEST(direct_tcp_framer, ring_buffer_messages_are_lent_and_a_split_one_assembled) {
    auto a = framed(pattern(300, 1)), b = framed(pattern(40, 2)), c = framed(pattern(5000, 3));
    lending_piece first(concat({a, b, {c.begin(), c.begin() + 1000}}));
    lending_piece second({c.begin() + 1000, c.end()});
    direct_tcp_framer f = session_framer();
    sink s;
    ASSERT_EQ(f.feed(first.bytes, first.lender(), s.fn()), status::ok);
    ASSERT_EQ(s.messages.size(), 2u);
    EXPECT_EQ(s.messages[0].data(), first.bytes.data() + 4); // in place, no copy
    EXPECT_EQ(s.messages[1].data(), first.bytes.data() + a.size() + 4);
    EXPECT_EQ(first.held, 2);
    EXPECT_TRUE(f.in_message());
    EXPECT_EQ(f.pending(), 1000u - 4);
    EXPECT_TRUE(f.direct_target().empty()); // not a large message: fed, not received into
    ASSERT_EQ(f.feed(second.bytes, second.lender(), s.fn()), status::ok);
    ASSERT_EQ(s.messages.size(), 3u);
    EXPECT_EQ(s.bytes(0), pattern(300, 1));
    EXPECT_EQ(s.bytes(1), pattern(40, 2));
    EXPECT_EQ(s.bytes(2), pattern(5000, 3));
    EXPECT_EQ(second.held, 0); // the assembled one is a copy
    EXPECT_EQ(f.stats().messages_lent, 2u);
    EXPECT_EQ(f.stats().messages_assembled, 1u);
    EXPECT_EQ(f.stats().bytes_assembled, 5000u);
    s.messages.clear();
    EXPECT_EQ(first.held, 0);
}

// io_uring: a ring low on buffers declines to lend; the message is copied instead.
TEST(direct_tcp_framer, a_declined_lend_is_copied) {
    lending_piece p(concat({framed(pattern(100, 4)), framed(pattern(200, 5))}));
    p.willing = false;
    direct_tcp_framer f = session_framer();
    sink s;
    ASSERT_EQ(f.feed(p.bytes, p.lender(), s.fn()), status::ok);
    ASSERT_EQ(s.messages.size(), 2u);
    EXPECT_EQ(s.bytes(1), pattern(200, 5));
    EXPECT_EQ(f.stats().messages_lent, 0u);
    EXPECT_EQ(f.stats().messages_assembled, 2u);
    EXPECT_EQ(f.pending(), 0u);
}

// io_uring: a WRITE-sized message. The first ring buffer brings its start; the framer
// places its pool buffer so that the data after the SMB2 header and WRITE request
// (112 bytes, MS-SMB2 2.2.21) is page aligned, and the rest is received straight into it.
TEST(direct_tcp_framer, large_message_rest_is_received_in_place_page_aligned) {
    auto body = pattern(1024 * 1024 + 112, 6);
    body[0] = 0xFE; // an SMB2 header, not sealed
    auto wire = framed(body);
    global_pool pool;
    const size_t ring_buffer = 16 * 1024;
    lending_piece first({wire.begin(), wire.begin() + ring_buffer});
    direct_tcp_framer f = session_framer();
    sink s;
    ASSERT_EQ(f.feed(first.bytes, first.lender(), s.fn()), status::ok);
    EXPECT_EQ(first.held, 0); // never lent, even though it started in one buffer
    std::span<uint8_t> rest = f.direct_target();
    ASSERT_EQ(rest.size(), wire.size() - ring_buffer);
    // Where the message starts: direct_target() less what was copied already.
    const uint8_t* message_start = rest.data() - (ring_buffer - 4);
    EXPECT_EQ(uintptr_t(message_start + 112) % 4096, 0u);
    // The socket returns the rest in reads of any size.
    size_t pos = ring_buffer;
    for (size_t chunk : {size_t(1), size_t(4095), size_t(300000), size_t(SIZE_MAX)}) {
        rest = f.direct_target();
        size_t n = std::min({chunk, rest.size(), wire.size() - pos});
        std::memcpy(rest.data(), wire.data() + pos, n);
        f.received(n, s.fn());
        pos += n;
    }
    ASSERT_EQ(pos, wire.size());
    ASSERT_EQ(s.messages.size(), 1u);
    EXPECT_EQ(s.bytes(0), body);
    EXPECT_EQ(s.messages[0].data(), message_start);
    EXPECT_TRUE(f.direct_target().empty()); // back to the ring for the next message
    EXPECT_FALSE(f.in_message());
    EXPECT_EQ(f.stats().bytes_assembled, ring_buffer - 4);
    EXPECT_EQ(f.stats().bytes_direct, wire.size() - ring_buffer);
    // The next small message comes through a ring buffer again and is lent.
    lending_piece next(framed(pattern(64, 7)));
    ASSERT_EQ(f.feed(next.bytes, next.lender(), s.fn()), status::ok);
    EXPECT_EQ(f.stats().messages_lent, 1u);
}

// A sealed WRITE (TRANSFORM_HEADER first, MS-SMB2 2.2.41) is placed 52 bytes later; the
// framer waits for the first body byte to know, so a header that ends its ring buffer
// asks for one more piece before direct placement starts.
TEST(direct_tcp_framer, sealed_large_message_placed_after_its_transform_header) {
    auto body = pattern(200 * 1024, 8);
    body[0] = 0xFD;
    auto wire = framed(body);
    global_pool pool;
    direct_tcp_framer f = session_framer();
    sink s;
    ASSERT_EQ(f.feed({wire.data(), 4}, {}, s.fn()), status::ok);
    EXPECT_TRUE(f.in_message());
    EXPECT_TRUE(f.direct_target().empty());
    ASSERT_EQ(f.feed({wire.data() + 4, 1}, {}, s.fn()), status::ok);
    std::span<uint8_t> rest = f.direct_target();
    ASSERT_EQ(rest.size(), body.size() - 1);
    EXPECT_EQ(uintptr_t(rest.data() - 1 + 112 + 52) % 4096, 0u);
    std::memcpy(rest.data(), wire.data() + 5, rest.size());
    f.received(rest.size(), s.fn());
    ASSERT_EQ(s.messages.size(), 1u);
    EXPECT_EQ(s.bytes(0), body);
}

// DPDK: the same stream cut into segments of every size, lending allowed.
TEST(direct_tcp_framer, segments_of_any_size_give_the_same_messages) {
    std::vector<std::vector<uint8_t>> bodies = {pattern(68, 1), pattern(70000, 2), pattern(4, 3),
                                                pattern(1400, 4), pattern(3000, 5)};
    std::vector<uint8_t> stream;
    for (const auto& b : bodies) {
        auto f = framed(b);
        stream.insert(stream.end(), f.begin(), f.end());
    }
    for (size_t piece : {size_t(1), size_t(2), size_t(3), size_t(5), size_t(1448), size_t(9000),
                         stream.size()}) {
        std::vector<std::unique_ptr<lending_piece>> segments; // outlive the messages
        direct_tcp_framer f = session_framer();
        sink s;
        for (size_t pos = 0; pos < stream.size(); pos += piece) {
            size_t n = std::min(piece, stream.size() - pos);
            segments.push_back(std::make_unique<lending_piece>(
                std::vector<uint8_t>(stream.begin() + pos, stream.begin() + pos + n)));
            ASSERT_EQ(f.feed(segments.back()->bytes, segments.back()->lender(), s.fn()), status::ok)
                << piece;
        }
        ASSERT_EQ(s.messages.size(), bodies.size()) << "piece " << piece;
        for (size_t i = 0; i < bodies.size(); ++i) {
            EXPECT_EQ(s.bytes(i), bodies[i]) << "piece " << piece << " message " << i;
        }
        EXPECT_EQ(f.pending(), 0u);
        EXPECT_FALSE(f.in_message());
        EXPECT_EQ(f.stats().messages_lent + f.stats().messages_assembled, bodies.size());
        if (piece == stream.size()) {
            EXPECT_EQ(f.stats().messages_lent, 4u); // all but the 70000-byte one
        }
        if (piece <= 3) {
            EXPECT_EQ(f.stats().messages_lent, 0u); // no segment holds a whole message
        }
    }
}

// DPDK: one segment with many messages and the first two bytes of the next header.
TEST(direct_tcp_framer, many_messages_in_one_segment_then_a_split_header) {
    std::vector<uint8_t> seg;
    for (int i = 0; i < 50; ++i) {
        auto f = framed(pattern(10 + size_t(i), uint8_t(i)));
        seg.insert(seg.end(), f.begin(), f.end());
    }
    auto last = framed(pattern(77, 99));
    seg.insert(seg.end(), last.begin(), last.begin() + 2);
    lending_piece a(seg);
    lending_piece b({last.begin() + 2, last.end()});
    direct_tcp_framer f = session_framer();
    sink s;
    ASSERT_EQ(f.feed(a.bytes, a.lender(), s.fn()), status::ok);
    EXPECT_EQ(s.messages.size(), 50u);
    EXPECT_EQ(a.held, 50);
    EXPECT_FALSE(f.in_message()); // half a header only
    ASSERT_EQ(f.feed(b.bytes, b.lender(), s.fn()), status::ok);
    ASSERT_EQ(s.messages.size(), 51u);
    EXPECT_EQ(s.bytes(50), pattern(77, 99));
    EXPECT_EQ(b.held, 0); // its header was split: assembled
}

TEST(direct_tcp_framer, bad_frames_stop_the_stream_after_what_came_before) {
    struct bad_case {
        std::vector<uint8_t> header;
        status expected;
    };
    size_t over = max_message_size + 1;
    std::vector<bad_case> cases = {
        {{0x81, 0, 0, 4}, status::bad_frame}, // a NetBIOS session message, not Direct TCP
        {{0, 0, 0, 3}, status::bad_frame},    // shorter than the SMB2 ProtocolId
        {{0, uint8_t(over >> 16), uint8_t(over >> 8), uint8_t(over)}, status::bad_frame},
        {{0, 0xFF, 0xFF, 0xFF}, status::bad_frame},
    };
    for (const auto& c : cases) {
        for (bool lend : {false, true}) {
            lending_piece p(concat({framed(pattern(8, 11)), c.header, pattern(16, 1)}));
            direct_tcp_framer f = session_framer();
            sink s;
            EXPECT_EQ(f.feed(p.bytes, lend ? p.lender() : nullptr, s.fn()), c.expected);
            ASSERT_EQ(s.messages.size(), 1u); // the message before still reached the engine
            EXPECT_EQ(s.bytes(0), pattern(8, 11));
            EXPECT_NE(f.describe_refusal().find("bad Direct TCP frame header"), std::string::npos);
            EXPECT_TRUE(f.direct_target().empty());
        }
    }
    // A bad header split over two pieces is found when its last byte arrives.
    direct_tcp_framer f = session_framer();
    sink s;
    std::vector<uint8_t> h{0x85, 0, 0};
    EXPECT_EQ(f.feed(h, {}, s.fn()), status::ok);
    std::vector<uint8_t> rest{0};
    EXPECT_EQ(f.feed(rest, {}, s.fn()), status::bad_frame);
}

// transport.hh max_incoming: small before a session. A frame announcing more is refused
// at its header, before any buffer is allocated for it; once raised, it is taken. Never
// above max_message_size, whatever the caller asks.
TEST(direct_tcp_framer, connection_limit_before_and_after_a_session) {
    auto big = framed(pattern(pre_session_max_message + 1, 12));
    auto at_limit = framed(pattern(pre_session_max_message, 13));
    {
        direct_tcp_framer f; // a new connection: the pre-session limit
        sink s;
        EXPECT_EQ(f.feed(at_limit, {}, s.fn()), status::ok);
        EXPECT_EQ(s.messages.size(), 1u);
        EXPECT_EQ(f.feed({big.data(), 4}, {}, s.fn()), status::over_limit);
        EXPECT_EQ(f.pending(), 0u);
        EXPECT_TRUE(f.direct_target().empty()); // nothing allocated
        EXPECT_NE(f.describe_refusal().find(std::to_string(pre_session_max_message + 1)),
                  std::string::npos);
    }
    {
        direct_tcp_framer f;
        f.set_max_message(pre_session_max_message);
        lending_piece p(big);
        sink s;
        EXPECT_EQ(f.feed(p.bytes, p.lender(), s.fn()), status::over_limit);
        EXPECT_TRUE(s.messages.empty());
        EXPECT_EQ(p.held, 0);
    }
    {
        direct_tcp_framer f;
        f.set_max_message(pre_session_max_message);
        f.set_max_message(max_message_size); // SESSION_SETUP succeeded
        sink s;
        EXPECT_EQ(f.feed(big, {}, s.fn()), status::ok);
        ASSERT_EQ(s.messages.size(), 1u);
        EXPECT_EQ(s.messages[0].size(), pre_session_max_message + 1);
    }
    {
        direct_tcp_framer f;
        f.set_max_message(16 * 1024 * 1024);
        sink s;
        size_t over = max_message_size + 1;
        std::vector<uint8_t> h{0, uint8_t(over >> 16), uint8_t(over >> 8), uint8_t(over)};
        EXPECT_EQ(f.feed(h, {}, s.fn()), status::bad_frame);
    }
}
