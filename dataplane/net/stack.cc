#include "dataplane/net/stack.hh"

#include <algorithm>

#include <openssl/rand.h>

#include "common/log.hh"
#include "dataplane/net/checksum.hh"

namespace smbx::net {

namespace {
constexpr size_t tx_batch_capacity = 64;
constexpr time_us timer_granularity = 1000;
} // namespace

stack::stack(nic& port, const stack_config& config)
    : _nic(port), _config(config), _mac(port.mac()),
      _arp(config.arp_cache_size, config.arp_lifetime) {
    if (_config.isn_secret == 0 && RAND_bytes(reinterpret_cast<unsigned char*>(&_config.isn_secret),
                                              sizeof _config.isn_secret) != 1) {
        LOG_WARN("net: no random ISN secret available");
    }
    _tx_batch.reserve(tx_batch_capacity);
}

stack::~stack() {
    _connections.clear(); // drops queued blocks and held frames
    for (auto& f : _tx_batch) {
        for (size_t i = 0; i < f.fragment_count; ++i) {
            f.payload[i].block->drop();
        }
    }
}

void stack::receive(packet_buffer frame, time_us now) {
    _now = now;
    ++_counters.frames_received;
    frame.track(&_counters.buffers_outstanding);
    byte_reader r(frame.bytes());
    auto eth = parse_ethernet(r);
    if (!eth) {
        ++_counters.dropped_malformed;
    } else if (!(eth->dst == _mac) && !eth->dst.is_broadcast()) {
        ++_counters.dropped_not_for_us;
    } else if (eth->type == ethertype_arp) {
        handle_arp(r);
    } else if (eth->type == ethertype_ipv4) {
        handle_ipv4(r, std::move(frame), eth->src);
    } else {
        ++_counters.dropped_unsupported;
    }
    reap();
}

void stack::poll(time_us now) {
    _now = now;
    if (now >= _next_timer_scan) {
        _next_timer_scan = now + timer_granularity;
        // Collected first: a callback may open a connection and rehash the table.
        std::vector<tcp_connection*> due;
        for (auto& [key, c] : _connections) {
            if (c->state() != tcp_state::closed && c->next_deadline() <= now) {
                due.push_back(c.get());
            }
        }
        for (auto* c : due) {
            if (c->state() != tcp_state::closed) {
                c->on_timers(now);
            }
        }
    }
    // Output for connections the application sent on or closed since the last poll.
    std::vector<connection_id> dirty;
    dirty.swap(_dirty);
    for (auto id : dirty) {
        auto it = _by_id.find(id);
        if (it != _by_id.end()) {
            it->second->output(now);
        }
    }
    flush();
    reap();
}

// RFC 826 packet reception, with the cache merge before the opcode check.
void stack::handle_arp(byte_reader& r) {
    auto a = parse_arp(r);
    if (!a) {
        ++_counters.dropped_malformed;
        return;
    }
    if (!(a->target_ip == _config.address)) {
        _arp.update(a->sender_ip, a->sender_mac, _now);
        return;
    }
    auto before = _arp.lookup(a->sender_ip, _now);
    learn_neighbor(a->sender_ip, a->sender_mac, _now);
    if (a->op == arp_packet::request) {
        send_arp(arp_packet::reply, a->sender_mac, a->sender_ip, a->sender_mac);
        ++_counters.arp_replies_sent;
    }
    // To the other stacks: news (a new or moved neighbour), and every reply: it answers
    // a request, which another stack may have sent because its own entry expired while
    // ours was kept fresh by traffic. Repeated requests with nothing new are not passed.
    bool news = !before || !(*before == a->sender_mac);
    if (_neighbor_observer && (news || a->op == arp_packet::reply)) {
        _neighbor_observer->on_neighbor_learned(a->sender_ip, a->sender_mac);
    }
}

void stack::learn_neighbor(ipv4_address ip, const mac_address& mac, time_us now) {
    _now = std::max(_now, now);
    bool known = _arp.lookup(ip, _now).has_value();
    _arp.insert(ip, mac, _now);
    if (known) {
        return;
    }
    for (auto& [key, c] : _connections) {
        if (next_hop(key.remote_ip) == ip && c->state() != tcp_state::closed) {
            c->on_route_resolved(_now);
        }
    }
}

void stack::send_arp(uint16_t op, const mac_address& dst_mac, ipv4_address target_ip,
                     const mac_address& target_mac) {
    tx_frame* f = new_frame();
    size_t n = write_ethernet(f->header.data(), dst_mac, _mac, ethertype_arp);
    arp_packet a{op, _mac, _config.address, target_mac, target_ip};
    n += write_arp(f->header.data() + n, a);
    // Pad to the 60-byte Ethernet minimum (IEEE 802.3 3.2.8); some PMDs do not.
    while (n < 60) {
        f->header[n++] = 0;
    }
    f->header_size = uint16_t(n);
}

void stack::handle_ipv4(byte_reader& r, packet_buffer frame, const mac_address& src) {
    auto ip = parse_ipv4(r);
    if (!ip) {
        ++_counters.dropped_malformed;
        return;
    }
    if (!(ip->dst == _config.address)) {
        ++_counters.dropped_not_for_us;
        return;
    }
    if (next_hop(ip->src) == ip->src) {
        // Traffic from an on-link peer confirms its cache entry (RFC 1122 2.3.2.1), so
        // busy connections do not stall on ARP when the entry would expire.
        _arp.update(ip->src, src, _now);
    }
    if (ip->is_fragment()) {
        // No reassembly: TCP peers honour our MSS and DF, so fragments are not expected.
        ++_counters.dropped_fragments;
        return;
    }
    size_t offset = r.position();
    size_t size = ip->total_length - ip->header_size;
    if (ip->protocol == ip_protocol_tcp) {
        handle_tcp(*ip, offset, size, std::move(frame));
    } else if (ip->protocol == ip_protocol_icmp) {
        handle_icmp(*ip, frame.bytes().subspan(offset, size));
    } else {
        ++_counters.dropped_unsupported;
    }
}

// RFC 792 echo: the reply carries the request's identifier, sequence and data.
void stack::handle_icmp(const ipv4_header& ip, std::span<const uint8_t> message) {
    constexpr uint8_t echo_request = 8, echo_reply = 0;
    if (message.size() < 8 || checksum_of(message) != 0) {
        ++_counters.dropped_checksum;
        return;
    }
    if (message[0] != echo_request || message[1] != 0) {
        ++_counters.dropped_unsupported;
        return;
    }
    if (message.size() > size_t(_config.mtu) - ipv4_header_size) {
        ++_counters.dropped_malformed;
        return;
    }
    tx_frame* f = begin_ipv4_frame(ip.src);
    if (!f) {
        return;
    }
    std::vector<uint8_t> reply(message.begin(), message.end());
    reply[0] = echo_reply;
    store_be16(&reply[2], 0);
    store_be16(&reply[2], checksum_of(reply));
    tx_block* b = make_tx_block(std::move(reply));
    b->track(&_counters.buffers_outstanding);
    add_payload(f, b->data(), uint32_t(b->size()), b);
    b->drop(); // the frame holds it now
    write_ipv4(f->header.data() + ethernet_header_size, _config.address, ip.src, ip_protocol_icmp,
               uint16_t(f->payload_size()), ++_ip_id, _config.ttl);
    ++_counters.icmp_echo_replies;
}

ipv4_address stack::next_hop(ipv4_address dst) const {
    uint32_t mask = _config.netmask.value;
    if ((dst.value & mask) == (_config.address.value & mask) || _config.gateway.value == 0) {
        return dst;
    }
    return _config.gateway;
}

tx_frame* stack::new_frame() {
    if (_tx_batch.size() == tx_batch_capacity) {
        flush();
    }
    tx_frame& f = _tx_batch.emplace_back();
    f.header_size = 0;
    f.fragment_count = 0;
    return &f;
}

tx_frame* stack::begin_ipv4_frame(ipv4_address dst) {
    ipv4_address hop = next_hop(dst);
    auto mac = _arp.lookup(hop, _now);
    if (!mac) {
        if (_arp.should_request(hop, _now, _config.arp_retry)) {
            send_arp(arp_packet::request, mac_address::broadcast(), hop, mac_address{});
            ++_counters.arp_requests_sent;
        }
        return nullptr;
    }
    tx_frame* f = new_frame();
    write_ethernet(f->header.data(), *mac, _mac, ethertype_ipv4);
    f->header_size = uint16_t(l4_offset);
    return f;
}

void stack::add_payload(tx_frame* f, const uint8_t* data, uint32_t size, tx_block* block) {
    block->hold(); // until the burst has been handed to the NIC
    f->payload[f->fragment_count++] = tx_fragment{data, size, block};
}

void stack::finish_tcp_frame(tx_frame* f, ipv4_address dst) {
    size_t tcp_size = f->header_size - l4_offset + f->payload_size();
    write_ipv4(f->header.data() + ethernet_header_size, _config.address, dst, ip_protocol_tcp,
               uint16_t(tcp_size), ++_ip_id, _config.ttl);
    internet_checksum c;
    c.add_u32(_config.address.value);
    c.add_u32(dst.value);
    c.add_u16(ip_protocol_tcp);
    c.add_u16(uint16_t(tcp_size));
    c.add({f->header.data() + l4_offset, f->header_size - l4_offset});
    for (size_t i = 0; i < f->fragment_count; ++i) {
        c.add({f->payload[i].data, f->payload[i].size});
    }
    store_be16(f->header.data() + l4_offset + 16, c.finish());
    ++_counters.tcp_segments_sent;
}

void stack::flush() {
    if (_tx_batch.empty()) {
        return;
    }
    size_t sent = _nic.send_burst(_tx_batch);
    _counters.frames_sent += sent;
    _counters.frames_tx_dropped += _tx_batch.size() - sent;
    for (auto& f : _tx_batch) {
        for (size_t i = 0; i < f.fragment_count; ++i) {
            f.payload[i].block->drop();
        }
    }
    _tx_batch.clear();
}

} // namespace smbx::net
