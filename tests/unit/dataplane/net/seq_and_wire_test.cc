// Sequence arithmetic across the 2^32 wrap, the Internet checksum over odd pieces, and
// header parsing of short or inconsistent input.
#include <gtest/gtest.h>

#include "dataplane/net/checksum.hh"
#include "dataplane/net/rtt_estimator.hh"
#include "dataplane/net/tcp_seq.hh"
#include "dataplane/net/wire.hh"

using namespace smbx;
using namespace smbx::net;

TEST(tcp_seq, comparisons_wrap_around) {
    EXPECT_TRUE(seq_lt(0xfffffff0u, 0x10u));
    EXPECT_TRUE(seq_gt(0x10u, 0xfffffff0u));
    EXPECT_TRUE(seq_le(5u, 5u));
    EXPECT_FALSE(seq_lt(5u, 5u));
    EXPECT_TRUE(seq_ge(0u, 0xffffffffu));
    EXPECT_EQ(seq_max(0xffffff00u, 0x100u), 0x100u);
    EXPECT_EQ(seq_min(0xffffff00u, 0x100u), 0xffffff00u);
    EXPECT_TRUE(seq_in_range(2u, 0xfffffffeu, 10u));
    EXPECT_FALSE(seq_in_range(10u, 0xfffffffeu, 10u));
    EXPECT_FALSE(seq_in_range(0xfffffffdu, 0xfffffffeu, 10u));
    // Half the space apart is the edge of "before".
    EXPECT_TRUE(seq_lt(0u, 0x7fffffffu));
    EXPECT_FALSE(seq_lt(0u, 0x80000001u));
}

TEST(internet_checksum, matches_rfc1071_example_in_any_split) {
    // RFC 1071 3: 0001 f203 f4f5 f6f7 sums to 0xddf2, checksum 0x220d.
    std::vector<uint8_t> d{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    EXPECT_EQ(checksum_of(d), 0x220d);
    for (size_t a = 0; a <= d.size(); ++a) {
        for (size_t b = a; b <= d.size(); ++b) {
            internet_checksum c;
            c.add({d.data(), a});
            c.add({d.data() + a, b - a});
            c.add({d.data() + b, d.size() - b});
            EXPECT_EQ(c.finish(), 0x220d) << a << "," << b;
        }
    }
    internet_checksum c;
    c.add({d.data(), 3});
    c.add_u16(0xf4f5); // a word after an odd piece straddles it
    c.add({d.data() + 5, 3});
    EXPECT_NE(c.finish(), 0x220d); // different byte stream: 00 01 f2 f4 f5 03 ...
    internet_checksum e;
    e.add({d.data(), 2});
    e.add_u16(0xf203);
    e.add_u32(0xf4f5f6f7);
    EXPECT_EQ(e.finish(), 0x220d);
}

TEST(wire, rejects_short_and_inconsistent_headers) {
    std::vector<uint8_t> short_eth(10, 0);
    byte_reader r(short_eth);
    EXPECT_FALSE(parse_ethernet(r));

    uint8_t ip[20] = {0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1};
    std::vector<uint8_t> buf(ip, ip + 20);
    buf.resize(40, 0);
    uint16_t sum = checksum_of({buf.data(), 20});
    buf[10] = uint8_t(sum >> 8);
    buf[11] = uint8_t(sum);
    byte_reader ok(buf);
    auto h = parse_ipv4(ok);
    ASSERT_TRUE(h);
    EXPECT_EQ(ok.position(), 20u);
    buf[11] ^= 1; // bad checksum
    byte_reader bad(buf);
    EXPECT_FALSE(parse_ipv4(bad));
    buf[11] ^= 1;
    buf[3] = 60; // total length beyond the frame
    byte_reader longer(buf);
    EXPECT_FALSE(parse_ipv4(longer));

    std::vector<uint8_t> tcp(20, 0);
    tcp[12] = 0x40; // data offset 16 < 20
    EXPECT_FALSE(parse_tcp(tcp));
    tcp[12] = 0xf0; // 60 > 20 bytes present
    EXPECT_FALSE(parse_tcp(tcp));
    // Options: a truncated option ends parsing without failing the header.
    tcp.resize(24);
    tcp[12] = 0x60;
    tcp[20] = 2;
    tcp[21] = 4;
    tcp[22] = 0x05;
    tcp[23] = 0xb4;
    auto t = parse_tcp(tcp);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->options.mss.value_or(0), 1460);
    tcp[21] = 40;
    t = parse_tcp(tcp);
    ASSERT_TRUE(t);
    EXPECT_FALSE(t->options.mss);
}

TEST(rtt_estimator, follows_rfc6298) {
    rtt_estimator e(1'000'000, 200'000, 60'000'000);
    EXPECT_EQ(e.rto(), 1'000'000u);
    e.sample(100'000); // SRTT 100 ms, RTTVAR 50 ms: RTO 300 ms
    EXPECT_EQ(e.rto(), 300'000u);
    e.sample(100'000); // RTTVAR 37.5 ms: 250 ms
    EXPECT_EQ(e.rto(), 250'000u);
    e.back_off();
    EXPECT_EQ(e.rto(), 500'000u);
    for (int i = 0; i < 20; ++i) {
        e.back_off();
    }
    EXPECT_EQ(e.rto(), 60'000'000u);
    for (int i = 0; i < 50; ++i) {
        e.sample(1000); // tiny RTTs are floored at min_rto
    }
    EXPECT_EQ(e.rto(), 200'000u);
}
