// Ethernet II, ARP (RFC 826), IPv4 (RFC 791), ICMP echo (RFC 792) and TCP (RFC 9293)
// headers: parsed through the bounds-checked byte_reader, written big-endian into a
// frame's header area.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "common/byte_codec.hh"
#include "dataplane/net/net_types.hh"

namespace smbx::net {

constexpr uint16_t ethertype_ipv4 = 0x0800;
constexpr uint16_t ethertype_arp = 0x0806;
constexpr size_t ethernet_header_size = 14;
constexpr size_t arp_packet_size = 28;
constexpr size_t ipv4_header_size = 20; // without options (we never send any)
constexpr size_t tcp_header_size = 20;  // without options
// RFC 7323 3.2: the 10-byte timestamps option, padded to 12 as sent (appendix A).
constexpr size_t tcp_timestamp_option_size = 12;
// The MSS we offer on a link of `mtu` (RFC 9293 3.7.1): the MTU less the IPv4 and TCP
// headers without options.
constexpr uint16_t tcp_mss_for_mtu(uint32_t mtu) {
    return uint16_t(mtu - ipv4_header_size - tcp_header_size);
}
constexpr uint8_t ip_protocol_icmp = 1;
constexpr uint8_t ip_protocol_tcp = 6;

struct ethernet_header {
    mac_address dst;
    mac_address src;
    uint16_t type = 0;
};

struct arp_packet {
    static constexpr uint16_t request = 1;
    static constexpr uint16_t reply = 2;
    uint16_t op = 0;
    mac_address sender_mac;
    ipv4_address sender_ip;
    mac_address target_mac;
    ipv4_address target_ip;
};

struct ipv4_header {
    uint8_t header_size = 0; // IHL * 4
    uint16_t total_length = 0;
    uint16_t id = 0;
    bool more_fragments = false;
    uint16_t fragment_offset = 0; // in 8-byte units
    uint8_t ttl = 0;
    uint8_t protocol = 0;
    ipv4_address src;
    ipv4_address dst;
    bool is_fragment() const { return more_fragments || fragment_offset != 0; }
};

namespace tcp_flag {
constexpr uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10, urg = 0x20;
}

// Options we act on (RFC 9293 3.2, RFC 7323 2 and 3). Unknown kinds are skipped.
struct tcp_options {
    std::optional<uint16_t> mss;
    std::optional<uint8_t> window_scale;
    bool has_timestamps = false;
    uint32_t ts_value = 0;
    uint32_t ts_echo = 0;
};

struct tcp_header {
    uint16_t src_port = 0;
    uint16_t dst_port = 0;
    uint32_t seq = 0;
    uint32_t ack = 0;
    uint8_t header_size = 0; // data offset * 4
    uint8_t flags = 0;
    uint16_t window = 0;
    tcp_options options;
    bool has(uint8_t f) const { return (flags & f) != 0; }
};

std::optional<ethernet_header> parse_ethernet(byte_reader& r);
std::optional<arp_packet> parse_arp(byte_reader& r);
// Checks version, IHL, total length against the frame and the header checksum.
// `r` is left at the start of the payload, which is total_length - header_size bytes
// (anything after it is Ethernet padding).
std::optional<ipv4_header> parse_ipv4(byte_reader& r);
// Parses header and options; the checksum is verified by the caller (it needs the
// pseudo-header). `segment` is the whole TCP segment.
std::optional<tcp_header> parse_tcp(std::span<const uint8_t> segment);
// TCP/UDP checksum over the pseudo-header (RFC 9293 3.1) and `segment`: 0 when valid.
uint16_t tcp_checksum(ipv4_address src, ipv4_address dst, std::span<const uint8_t> segment);

// Big-endian stores into a header being written.
inline void store_be16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}
inline void store_be32(uint8_t* p, uint32_t v) {
    p[0] = uint8_t(v >> 24);
    p[1] = uint8_t(v >> 16);
    p[2] = uint8_t(v >> 8);
    p[3] = uint8_t(v);
}

// Writers return the number of bytes written at p.
size_t write_ethernet(uint8_t* p, const mac_address& dst, const mac_address& src, uint16_t type);
size_t write_arp(uint8_t* p, const arp_packet& a);
// IPv4 header without options, DF set (we never fragment), checksum filled in.
size_t write_ipv4(uint8_t* p, ipv4_address src, ipv4_address dst, uint8_t protocol,
                  uint16_t payload_size, uint16_t id, uint8_t ttl);
// TCP header with `opts` (MSS/window scale only on SYNs; timestamps if set); checksum
// left 0 for the caller. Returns the header size (a multiple of 4).
size_t write_tcp(uint8_t* p, const tcp_header& h, const tcp_options& opts);

} // namespace smbx::net
