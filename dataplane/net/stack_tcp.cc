// The stack's TCP demultiplexing and the application's calls.
#include <openssl/sha.h>

#include "dataplane/net/stack.hh"
#include "dataplane/net/tcp_seq.hh"

namespace smbx::net {

void stack::handle_tcp(const ipv4_header& ip, size_t offset, size_t size, packet_buffer frame) {
    auto segment = frame.bytes().subspan(offset, size);
    if (tcp_checksum(ip.src, ip.dst, segment) != 0) {
        ++_counters.dropped_checksum;
        return;
    }
    auto h = parse_tcp(segment);
    if (!h) {
        ++_counters.dropped_malformed;
        return;
    }
    ++_counters.tcp_segments_received;
    flow_key key{ip.dst, ip.src, h->dst_port, h->src_port};
    size_t payload_size = size - h->header_size;
    frame.narrow(offset + h->header_size, payload_size);

    auto it = _connections.find(key);
    if (it != _connections.end()) {
        tcp_connection& c = *it->second;
        bool reopen = c.state() == tcp_state::time_wait && h->has(tcp_flag::syn) &&
                      !h->has(tcp_flag::ack) && !h->has(tcp_flag::rst) &&
                      seq_gt(h->seq, c.rcv_nxt());
        if (c.state() != tcp_state::closed && !reopen) {
            c.input(*h, std::move(frame), _now);
            return;
        }
        // A retired connection, or a new incarnation's SYN in TIME-WAIT (RFC 9293
        // 3.10.7.4 note, RFC 6191): the old one goes now, the SYN meets LISTEN.
        if (reopen) {
            c.on_timers(UINT64_MAX); // ends TIME-WAIT
        }
        _connections.erase(it);
    }
    auto l = _listeners.find(key.local_port);
    if (l != _listeners.end()) {
        handle_listen(l->second, key, *h, payload_size);
    } else {
        handle_no_connection(key, *h, payload_size);
    }
}

// RFC 9293 3.10.7.2, LISTEN.
void stack::handle_listen(listener& l, const flow_key& key, const tcp_header& h, size_t) {
    if (h.has(tcp_flag::rst)) {
        return;
    }
    if (h.has(tcp_flag::ack)) {
        send_reset(key, h.ack, 0, false);
        return;
    }
    if (!h.has(tcp_flag::syn)) {
        return;
    }
    if (l.syn_received >= _config.syn_backlog || _connections.size() >= _config.max_connections) {
        ++_counters.tcp_syn_backlog_drops;
        return;
    }
    ++l.syn_received;
    auto c = std::make_unique<tcp_connection>(*this, _next_id++, key, l.events);
    tcp_connection* raw = c.get();
    _connections.emplace(key, std::move(c));
    _by_id.emplace(raw->id(), raw);
    raw->open_passive(h, _now);
}

// RFC 9293 3.10.7.1, CLOSED: answer everything but a RST with a RST.
void stack::handle_no_connection(const flow_key& key, const tcp_header& h, size_t len) {
    if (h.has(tcp_flag::rst)) {
        return;
    }
    if (h.has(tcp_flag::ack)) {
        send_reset(key, h.ack, 0, false);
    } else {
        uint32_t seg_len = uint32_t(len) + h.has(tcp_flag::syn) + h.has(tcp_flag::fin);
        send_reset(key, 0, h.seq + seg_len, true);
    }
}

void stack::send_reset(const flow_key& key, uint32_t seq, uint32_t ack, bool with_ack) {
    tx_frame* f = begin_ipv4_frame(key.remote_ip);
    if (!f) {
        return;
    }
    tcp_header h;
    h.src_port = key.local_port;
    h.dst_port = key.remote_port;
    h.seq = seq;
    h.ack = with_ack ? ack : 0;
    h.flags = tcp_flag::rst | (with_ack ? tcp_flag::ack : 0);
    f->header_size += uint16_t(write_tcp(f->header.data() + l4_offset, h, {}));
    finish_tcp_frame(f, key.remote_ip);
    ++_counters.tcp_resets_sent;
}

// RFC 6528: ISN = M + F(local, remote, secret), M a 4-microsecond clock.
uint32_t stack::initial_sequence(const flow_key& key, time_us now) const {
    uint8_t in[20];
    store_be32(in, key.local_ip.value);
    store_be32(in + 4, key.remote_ip.value);
    store_be16(in + 8, key.local_port);
    store_be16(in + 10, key.remote_port);
    for (int i = 0; i < 8; ++i) {
        in[12 + i] = uint8_t(_config.isn_secret >> (8 * i));
    }
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(in, sizeof in, digest);
    uint32_t f = uint32_t(digest[0]) << 24 | digest[1] << 16 | digest[2] << 8 | digest[3];
    return f + uint32_t(now / 4);
}

bool stack::listen(uint16_t port, tcp_events* events) {
    return _listeners.emplace(port, listener{events, 0}).second;
}

connection_id stack::connect(ipv4_address remote, uint16_t remote_port, uint16_t local_port,
                             tcp_events* events, time_us now) {
    _now = now;
    flow_key key{_config.address, remote, local_port, remote_port};
    if (_connections.count(key) || _connections.size() >= _config.max_connections) {
        return 0;
    }
    auto c = std::make_unique<tcp_connection>(*this, _next_id++, key, events);
    tcp_connection* raw = c.get();
    _connections.emplace(key, std::move(c));
    _by_id.emplace(raw->id(), raw);
    raw->open_active(now);
    return raw->id();
}

bool stack::send(connection_id id, tx_block* block) {
    block->track(&_counters.buffers_outstanding);
    auto it = _by_id.find(id);
    if (it == _by_id.end() || !it->second->send(block)) {
        block->drop();
        return false;
    }
    mark_dirty(it->second);
    return true;
}

void stack::close(connection_id id) {
    auto it = _by_id.find(id);
    if (it != _by_id.end()) {
        it->second->close(_now);
    }
}

void stack::abort(connection_id id) {
    auto it = _by_id.find(id);
    if (it != _by_id.end()) {
        it->second->abort(_now);
    }
}

tcp_state stack::state(connection_id id) const {
    auto it = _by_id.find(id);
    return it == _by_id.end() ? tcp_state::closed : it->second->state();
}

const flow_key* stack::flow(connection_id id) const {
    auto it = _by_id.find(id);
    return it == _by_id.end() ? nullptr : &it->second->key();
}

const tcp_connection* stack::connection(connection_id id) const {
    auto it = _by_id.find(id);
    return it == _by_id.end() ? nullptr : it->second;
}

size_t stack::connection_count() const {
    size_t n = 0;
    for (auto& [key, c] : _connections) {
        n += c->state() != tcp_state::closed;
    }
    return n;
}

void stack::mark_dirty(tcp_connection* c) {
    _dirty.push_back(c->id());
}

void stack::backlog_release(uint16_t port) {
    auto it = _listeners.find(port);
    if (it != _listeners.end() && it->second.syn_received > 0) {
        --it->second.syn_received;
    }
}

void stack::forget_id(connection_id id) {
    _by_id.erase(id);
}

// The connection is closed; it is destroyed at the end of the current receive/poll, since
// its own code may still be on the call stack.
void stack::retire(tcp_connection* c) {
    _by_id.erase(c->id());
    _retired.push_back(c->key());
}

void stack::reap() {
    for (auto& key : _retired) {
        auto it = _connections.find(key);
        if (it != _connections.end() && it->second->state() == tcp_state::closed) {
            _connections.erase(it);
        }
    }
    _retired.clear();
}

} // namespace smbx::net
