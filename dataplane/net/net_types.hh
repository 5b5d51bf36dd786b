// Addresses, flow keys and time for the user-space TCP/IP stack. Nothing here knows
// about DPDK: the stack talks to a NIC only through nic.hh.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

namespace smbx::net {

// Microseconds on a monotonic clock chosen by the caller; the stack never reads a clock
// itself, so tests drive time explicitly.
using time_us = uint64_t;

struct ipv4_address {
    uint32_t value = 0; // host byte order
    bool operator==(const ipv4_address&) const = default;
    static ipv4_address from_octets(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
        return {uint32_t(a) << 24 | uint32_t(b) << 16 | uint32_t(c) << 8 | d};
    }
    // Dotted quad; false if `text` is not one.
    static bool parse(const std::string& text, ipv4_address& out);
    std::string to_string() const;
};

struct mac_address {
    std::array<uint8_t, 6> bytes{};
    bool operator==(const mac_address&) const = default;
    static mac_address broadcast() { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
    bool is_broadcast() const { return *this == broadcast(); }
    std::string to_string() const;
};

// One TCP connection as seen from this stack: local end first.
struct flow_key {
    ipv4_address local_ip;
    ipv4_address remote_ip;
    uint16_t local_port = 0;
    uint16_t remote_port = 0;
    bool operator==(const flow_key&) const = default;
};

struct flow_key_hash {
    size_t operator()(const flow_key& k) const {
        uint64_t a = uint64_t(k.local_ip.value) << 32 | k.remote_ip.value;
        uint64_t b = uint64_t(k.local_port) << 16 | k.remote_port;
        return std::hash<uint64_t>()(a * 0x9e3779b97f4a7c15ULL ^ b);
    }
};

} // namespace smbx::net
