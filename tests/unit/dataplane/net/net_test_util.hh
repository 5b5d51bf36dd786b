// Shared pieces of the stack's tests: a NIC that records frames, a scripted peer that
// builds frames with byte_writer (independently of the stack's writers), and an
// application that records what the stack tells it.
#pragma once

#include <gtest/gtest.h>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "common/byte_codec.hh"
#include "dataplane/net/checksum.hh"
#include "dataplane/net/stack.hh"

namespace smbx::net::test {

inline mac_address mac_of(uint8_t last) {
    return {{0x02, 0, 0, 0, 0, last}};
}
inline ipv4_address ip_of(uint8_t last) {
    return ipv4_address::from_octets(10, 0, 0, last);
}

struct capture_nic : nic {
    explicit capture_nic(mac_address m) : address(m) {}
    size_t send_burst(std::span<const tx_frame> frames) override {
        for (auto& f : frames) {
            sent.emplace_back();
            f.copy_to(sent.back());
        }
        return frames.size();
    }
    mac_address mac() const override { return address; }
    mac_address address;
    std::vector<std::vector<uint8_t>> sent;
};

struct segment {
    ipv4_address src, dst;
    tcp_header tcp;
    std::vector<uint8_t> payload;
};

// Parses a frame the stack sent, checking both checksums; nullopt if not TCP.
inline std::optional<segment> parse_segment(const std::vector<uint8_t>& frame) {
    byte_reader r(frame);
    auto eth = parse_ethernet(r);
    if (!eth || eth->type != ethertype_ipv4) {
        return std::nullopt;
    }
    auto ip = parse_ipv4(r);
    if (!ip || ip->protocol != ip_protocol_tcp) {
        return std::nullopt;
    }
    auto body = byte_span(frame).subspan(r.position(), ip->total_length - ip->header_size);
    EXPECT_EQ(tcp_checksum(ip->src, ip->dst, body), 0);
    auto h = parse_tcp(body);
    if (!h) {
        return std::nullopt;
    }
    segment s{ip->src, ip->dst, *h, {}};
    s.payload.assign(body.begin() + h->header_size, body.end());
    return s;
}

// A client whose every segment is written by the test.
struct scripted_peer {
    mac_address mac = mac_of(2);
    ipv4_address ip = ip_of(2);
    mac_address stack_mac = mac_of(1);
    ipv4_address stack_ip = ip_of(1);
    uint16_t port = 40000;
    uint16_t stack_port = 445;

    std::vector<uint8_t> arp_request() const {
        byte_writer w;
        w.put(mac_address::broadcast().bytes.data(), 6);
        w.put(mac.bytes.data(), 6);
        w.u16be(ethertype_arp);
        w.u16be(1);
        w.u16be(ethertype_ipv4);
        w.u8(6);
        w.u8(4);
        w.u16be(arp_packet::request);
        w.put(mac.bytes.data(), 6);
        w.u32be(ip.value);
        w.zeros(6);
        w.u32be(stack_ip.value);
        return w.take();
    }

    // Ethernet + IPv4 around an IP payload.
    std::vector<uint8_t> ipv4_frame(uint8_t protocol, const std::vector<uint8_t>& l4,
                                    uint16_t frag = 0x4000) const {
        byte_writer w;
        w.put(stack_mac.bytes.data(), 6);
        w.put(mac.bytes.data(), 6);
        w.u16be(ethertype_ipv4);
        size_t ip_at = w.size();
        w.u8(0x45);
        w.u8(0);
        w.u16be(uint16_t(20 + l4.size()));
        w.u16be(1);
        w.u16be(frag);
        w.u8(64);
        w.u8(protocol);
        w.u16be(0);
        w.u32be(ip.value);
        w.u32be(stack_ip.value);
        uint16_t sum = checksum_of(byte_span(w.buffer()).subspan(ip_at, 20));
        w.buffer()[ip_at + 10] = uint8_t(sum >> 8);
        w.buffer()[ip_at + 11] = uint8_t(sum);
        w.put(l4.data(), l4.size());
        return w.take();
    }

    std::vector<uint8_t> tcp(uint8_t flags, uint32_t seq, uint32_t ack,
                             const std::vector<uint8_t>& payload = {}, uint16_t window = 65535,
                             const tcp_options& o = {}) const {
        byte_writer w;
        w.u16be(port);
        w.u16be(stack_port);
        w.u32be(seq);
        w.u32be(ack);
        size_t off_at = w.size();
        w.u8(0);
        w.u8(flags);
        w.u16be(window);
        w.u16be(0); // checksum
        w.u16be(0);
        if (o.mss) {
            w.u8(2);
            w.u8(4);
            w.u16be(*o.mss);
        }
        if (o.window_scale) {
            w.u8(3);
            w.u8(3);
            w.u8(*o.window_scale);
            w.u8(1);
        }
        if (o.has_timestamps) {
            w.u8(8);
            w.u8(10);
            w.u32be(o.ts_value);
            w.u32be(o.ts_echo);
            w.u8(1);
            w.u8(1);
        }
        w.buffer()[off_at] = uint8_t((w.size() / 4) << 4);
        w.put(payload.data(), payload.size());
        uint16_t sum = tcp_checksum(ip, stack_ip, w.buffer());
        w.buffer()[16] = uint8_t(sum >> 8);
        w.buffer()[17] = uint8_t(sum);
        return ipv4_frame(ip_protocol_tcp, w.buffer());
    }
};

// Records events; optionally echoes data back (zero copy: the received frame is sent)
// and closes when the peer does.
struct recording_app : tcp_events {
    std::vector<connection_id> established;
    std::map<connection_id, std::vector<uint8_t>> received;
    std::set<connection_id> peer_closed;
    std::map<connection_id, close_reason> closed;
    bool echo = false;
    bool close_on_peer_close = false;

    void on_established(stack&, connection_id id) override { established.push_back(id); }
    void on_data(stack& s, connection_id id, packet_buffer p) override {
        auto& r = received[id];
        r.insert(r.end(), p.data(), p.data() + p.size());
        if (echo) {
            s.send(id, make_tx_block(std::move(p)));
        }
    }
    void on_peer_closed(stack& s, connection_id id) override {
        peer_closed.insert(id);
        if (close_on_peer_close) {
            s.close(id);
        }
    }
    void on_closed(stack&, connection_id id, close_reason r) override { closed[id] = r; }
};

inline std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    uint32_t x = seed * 2654435761u + 1;
    for (auto& b : v) {
        x = x * 1103515245u + 12345u;
        b = uint8_t(x >> 16);
    }
    return v;
}

// One stack on a recording NIC at 10.0.0.1 with `app` listening on port 445, and a
// scripted peer at 10.0.0.2; frames go in with deliver(), time moves with advance().
struct stack_fixture : ::testing::Test {
    capture_nic card{mac_of(1)};
    stack_config cfg;
    std::unique_ptr<stack> s;
    recording_app app;
    scripted_peer peer;
    time_us now = 5'000'000;

    // Builds the stack from `cfg` (tests may change it first) and listens on 445.
    void start_stack() {
        cfg.address = ip_of(1);
        s = std::make_unique<stack>(card, cfg);
        ASSERT_TRUE(s->listen(445, &app));
    }
    void deliver(const std::vector<uint8_t>& f) {
        s->receive(make_heap_packet(f), now);
        s->poll(now);
    }
    void advance(time_us dt) {
        now += dt;
        s->poll(now);
    }
};

} // namespace smbx::net::test
