#include "dataplane/net/flow_steering.hh"

#include "common/byte_codec.hh"
#include "dataplane/net/wire.hh"

namespace smbx::net {

size_t flow_owner(const flow_key& flow, size_t workers) {
    if (workers <= 1) {
        return 0;
    }
    // flow_key_hash's low bits are weak (an odd multiplier and an xor): finish with the
    // 64-bit MurmurHash3 mixer and take the high half.
    uint64_t h = flow_key_hash()(flow);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return size_t((h >> 32) % workers);
}

std::optional<size_t> segment_owner(std::span<const uint8_t> frame, size_t workers) {
    byte_reader r(frame);
    auto eth = parse_ethernet(r);
    if (!eth || eth->type != ethertype_ipv4) {
        return std::nullopt;
    }
    auto ip = parse_ipv4(r);
    // A fragment after the first has no ports; the stack drops fragments anyway.
    if (!ip || ip->protocol != ip_protocol_tcp || ip->is_fragment() || r.remaining() < 4) {
        return std::nullopt;
    }
    flow_key key;
    key.remote_ip = ip->src;
    key.local_ip = ip->dst;
    key.remote_port = r.u16be();
    key.local_port = r.u16be();
    return flow_owner(key, workers);
}

} // namespace smbx::net
