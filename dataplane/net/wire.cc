#include "dataplane/net/wire.hh"

#include <algorithm>

#include "dataplane/net/checksum.hh"

namespace smbx::net {

namespace {

mac_address read_mac(byte_reader& r) {
    mac_address m;
    r.copy_to(m.bytes.data(), m.bytes.size());
    return m;
}

// RFC 9293 3.2 option kinds; RFC 7323 2.2 (window scale) and 3.2 (timestamps).
constexpr uint8_t option_end = 0, option_nop = 1, option_mss = 2, option_wscale = 3,
                  option_timestamps = 8;

void parse_tcp_options(byte_reader r, tcp_options& o) {
    while (r.remaining() > 0) {
        uint8_t kind = r.u8();
        if (kind == option_end) {
            return;
        }
        if (kind == option_nop) {
            continue;
        }
        uint8_t len = r.u8();
        if (!r.ok() || len < 2 || size_t(len - 2) > r.remaining()) {
            return; // malformed: ignore the rest (RFC 9293 3.1: be liberal)
        }
        byte_reader body(r.take(len - 2));
        if (kind == option_mss && len == 4) {
            o.mss = body.u16be();
        } else if (kind == option_wscale && len == 3) {
            o.window_scale = body.u8();
        } else if (kind == option_timestamps && len == 10) {
            o.has_timestamps = true;
            o.ts_value = body.u32be();
            o.ts_echo = body.u32be();
        }
    }
}

} // namespace

std::optional<ethernet_header> parse_ethernet(byte_reader& r) {
    ethernet_header h;
    h.dst = read_mac(r);
    h.src = read_mac(r);
    h.type = r.u16be();
    if (!r.ok()) {
        return std::nullopt;
    }
    return h;
}

std::optional<arp_packet> parse_arp(byte_reader& r) {
    uint16_t hardware = r.u16be();
    uint16_t protocol = r.u16be();
    uint8_t hlen = r.u8();
    uint8_t plen = r.u8();
    arp_packet a;
    a.op = r.u16be();
    a.sender_mac = read_mac(r);
    a.sender_ip.value = r.u32be();
    a.target_mac = read_mac(r);
    a.target_ip.value = r.u32be();
    if (!r.ok() || hardware != 1 || protocol != ethertype_ipv4 || hlen != 6 || plen != 4) {
        return std::nullopt;
    }
    return a;
}

std::optional<ipv4_header> parse_ipv4(byte_reader& r) {
    size_t start = r.position();
    uint8_t version_ihl = r.u8();
    r.skip(1); // DSCP/ECN
    ipv4_header h;
    h.total_length = r.u16be();
    h.id = r.u16be();
    uint16_t frag = r.u16be();
    h.more_fragments = (frag & 0x2000) != 0;
    h.fragment_offset = frag & 0x1fff;
    h.ttl = r.u8();
    h.protocol = r.u8();
    r.skip(2); // checksum, verified over the whole header below
    h.src.value = r.u32be();
    h.dst.value = r.u32be();
    h.header_size = uint8_t((version_ihl & 0x0f) * 4);
    if (!r.ok() || (version_ihl >> 4) != 4 || h.header_size < ipv4_header_size ||
        h.total_length < h.header_size || h.total_length > r.size() - start) {
        return std::nullopt;
    }
    auto header = r.at(start, h.header_size);
    if (!r.ok() || checksum_of(header) != 0) {
        return std::nullopt;
    }
    r.seek(start + h.header_size);
    return h;
}

std::optional<tcp_header> parse_tcp(std::span<const uint8_t> segment) {
    byte_reader r(segment);
    tcp_header h;
    h.src_port = r.u16be();
    h.dst_port = r.u16be();
    h.seq = r.u32be();
    h.ack = r.u32be();
    uint8_t offset = r.u8();
    h.flags = r.u8() & 0x3f;
    h.window = r.u16be();
    r.skip(4); // checksum, urgent pointer
    h.header_size = uint8_t((offset >> 4) * 4);
    if (!r.ok() || h.header_size < tcp_header_size || h.header_size > segment.size()) {
        return std::nullopt;
    }
    parse_tcp_options(
        byte_reader(segment.subspan(tcp_header_size, h.header_size - tcp_header_size)), h.options);
    return h;
}

uint16_t tcp_checksum(ipv4_address src, ipv4_address dst, std::span<const uint8_t> segment) {
    internet_checksum c;
    c.add_u32(src.value);
    c.add_u32(dst.value);
    c.add_u16(ip_protocol_tcp);
    c.add_u16(uint16_t(segment.size()));
    c.add(segment);
    return c.finish();
}

size_t write_ethernet(uint8_t* p, const mac_address& dst, const mac_address& src, uint16_t type) {
    std::copy(dst.bytes.begin(), dst.bytes.end(), p);
    std::copy(src.bytes.begin(), src.bytes.end(), p + 6);
    store_be16(p + 12, type);
    return ethernet_header_size;
}

size_t write_arp(uint8_t* p, const arp_packet& a) {
    store_be16(p, 1);
    store_be16(p + 2, ethertype_ipv4);
    p[4] = 6;
    p[5] = 4;
    store_be16(p + 6, a.op);
    std::copy(a.sender_mac.bytes.begin(), a.sender_mac.bytes.end(), p + 8);
    store_be32(p + 14, a.sender_ip.value);
    std::copy(a.target_mac.bytes.begin(), a.target_mac.bytes.end(), p + 18);
    store_be32(p + 24, a.target_ip.value);
    return arp_packet_size;
}

size_t write_ipv4(uint8_t* p, ipv4_address src, ipv4_address dst, uint8_t protocol,
                  uint16_t payload_size, uint16_t id, uint8_t ttl) {
    p[0] = 0x45;
    p[1] = 0;
    store_be16(p + 2, uint16_t(ipv4_header_size + payload_size));
    store_be16(p + 4, id);
    store_be16(p + 6, 0x4000); // DF
    p[8] = ttl;
    p[9] = protocol;
    store_be16(p + 10, 0);
    store_be32(p + 12, src.value);
    store_be32(p + 16, dst.value);
    store_be16(p + 10, checksum_of({p, ipv4_header_size}));
    return ipv4_header_size;
}

size_t write_tcp(uint8_t* p, const tcp_header& h, const tcp_options& opts) {
    store_be16(p, h.src_port);
    store_be16(p + 2, h.dst_port);
    store_be32(p + 4, h.seq);
    store_be32(p + 8, h.ack);
    p[13] = h.flags;
    store_be16(p + 14, h.window);
    store_be16(p + 16, 0);
    store_be16(p + 18, 0);
    size_t n = tcp_header_size;
    if (opts.mss) {
        p[n] = option_mss;
        p[n + 1] = 4;
        store_be16(p + n + 2, *opts.mss);
        n += 4;
    }
    if (opts.window_scale) {
        p[n] = option_nop;
        p[n + 1] = option_wscale;
        p[n + 2] = 3;
        p[n + 3] = *opts.window_scale;
        n += 4;
    }
    if (opts.has_timestamps) {
        // NOP NOP TS: the layout RFC 7323 appendix A suggests, keeping fields aligned.
        p[n] = option_nop;
        p[n + 1] = option_nop;
        p[n + 2] = option_timestamps;
        p[n + 3] = 10;
        store_be32(p + n + 4, opts.ts_value);
        store_be32(p + n + 8, opts.ts_echo);
        n += 12;
    }
    p[12] = uint8_t((n / 4) << 4);
    return n;
}

} // namespace smbx::net
