#include "dataplane/dpdk/dpdk_transport.hh"

#include <ctime>

#include <rte_mempool.h>

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/runtime/direct_tcp.hh"

namespace smbx::dpdk {

namespace {

net::time_us monotonic_us() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return net::time_us(ts.tv_sec) * 1'000'000 + net::time_us(ts.tv_nsec) / 1000;
}

// A READ payload (or any payload pool buffer) on its way out: the pool buffer goes
// back when the stack and the NIC have dropped their references, i.e. once acknowledged.
class pool_block final : public net::tx_block {
public:
    explicit pool_block(pool_buffer buffer)
        : tx_block(buffer.data(), buffer.size()), _buffer(std::move(buffer)) {}

private:
    pool_buffer _buffer;
};

} // namespace

void dpdk_connection::send(out_message message) {
    _owner.send(_id, std::move(message));
}

void dpdk_connection::close() {
    _owner.post_close(_id);
}

dpdk_transport::dpdk_transport(port& p, uint16_t queue, const net::stack_config& config,
                               uint16_t listen_port, transport_events& events, worker& owner)
    : _events(events), _worker(owner), _port(p), _queue(queue), _nic(p, queue),
      _lend_limit(p.pool()->size / 4) {
    if (config.impair.enabled()) {
        _impaired = std::make_unique<net::impaired_nic>(_nic, config.impair);
        LOG_WARN("dpdk: worker %u: TEST MODE 'dpdk impair': drops %g, duplicates %g and "
                 "reorders %g of the frames each way (seed %llu); never use in production",
                 owner.index(), config.impair.drop, config.impair.duplicate, config.impair.reorder,
                 static_cast<unsigned long long>(config.impair.seed));
    }
    _stack = std::make_unique<net::stack>(
        _impaired ? static_cast<net::nic&>(*_impaired) : static_cast<net::nic&>(_nic), config);
    if (_impaired) {
        _impaired->set_receiver(*_stack);
    }
    _stack->listen(listen_port, this);
    LOG_NOTICE("dpdk: worker %u serves %s:%u on port %u queue %u (%s)", owner.index(),
               config.address.to_string().c_str(), listen_port, p.id(), queue, p.driver().c_str());
}

dpdk_transport::~dpdk_transport() {
    const net::stack_counters& c = _stack->counters();
    const queue_counters& q = _nic.counters();
    LOG_NOTICE("dpdk: worker %u: rx_frames=%llu tx_frames=%llu tx_ring_full=%llu "
               "tx_alloc_failures=%llu retransmits=%llu fast_retransmits=%llu timeouts=%llu "
               "out_of_order=%llu accepted=%llu open=%zu buffers_outstanding=%llu",
               _worker.index(), (unsigned long long)q.rx_frames, (unsigned long long)q.tx_frames,
               (unsigned long long)q.tx_ring_full, (unsigned long long)q.tx_alloc_failures,
               (unsigned long long)c.tcp_retransmits, (unsigned long long)c.tcp_fast_retransmits,
               (unsigned long long)c.tcp_timeouts, (unsigned long long)c.tcp_out_of_order,
               (unsigned long long)c.tcp_connections_accepted, _stack->connection_count(),
               (unsigned long long)c.buffers_outstanding);
    LOG_NOTICE("dpdk: worker %u: rx messages zero_copy=%llu assembled=%llu, "
               "segments lent (all workers)=%llu",
               _worker.index(), (unsigned long long)_rx_messages_lent,
               (unsigned long long)_rx_messages_assembled,
               (unsigned long long)direct_tcp_reassembler::segments_lent());
    if (_peers.size() > 1) {
        LOG_NOTICE("dpdk: worker %u: frames steered out=%llu in=%llu, neighbours shared=%llu",
                   _worker.index(), (unsigned long long)_frames_steered_out,
                   (unsigned long long)_frames_steered_in, (unsigned long long)_neighbors_shared);
    }
    if (_impaired) {
        const net::impairment_counters& i = _impaired->counters();
        LOG_NOTICE("dpdk: worker %u: impaired: tx dropped=%llu duplicated=%llu reordered=%llu, "
                   "rx dropped=%llu duplicated=%llu reordered=%llu",
                   _worker.index(), (unsigned long long)i.tx_dropped,
                   (unsigned long long)i.tx_duplicated, (unsigned long long)i.tx_reordered,
                   (unsigned long long)i.rx_dropped, (unsigned long long)i.rx_duplicated,
                   (unsigned long long)i.rx_reordered);
        _impaired->discard(); // held frames reference the stack's counters
    }
    publish_counters();
    _stack.reset(); // gives back received frames and unsent blocks
    _connections.clear();
}

unsigned dpdk_transport::poll() {
    unsigned work = _posted.drain([this](posted& p) { run_posted(p); });
    net::time_us now = monotonic_us();
    if (_inbox.pending()) {
        work += drain_inbox(now); // frames and neighbours from the other workers
    }
    work += unsigned(_nic.poll_rx(rx_target(), now));
    send_outbox();
    // Runs the timers and sends what receive and the posted sends produced, in a burst.
    _stack->poll(now);
    if (_impaired) {
        _impaired->flush(now);
    }
    if (now >= _next_publish) {
        _next_publish = now + 100'000;
        publish_counters();
    }
    return work;
}

void dpdk_transport::publish_counters() {
    const net::stack_counters& c = _stack->counters();
    const queue_counters& q = _nic.counters();
    auto set = [this](const char* name, uint64_t value) { _published.set(name, value); };
    set("dpdk_rx_frames", q.rx_frames);
    set("dpdk_tx_frames", q.tx_frames);
    set("dpdk_tx_ring_full", q.tx_ring_full);
    set("dpdk_tx_alloc_failures", q.tx_alloc_failures);
    set("dpdk_tcp_retransmits", c.tcp_retransmits);
    set("dpdk_tcp_fast_retransmits", c.tcp_fast_retransmits);
    set("dpdk_tcp_timeouts", c.tcp_timeouts);
    set("dpdk_tcp_out_of_order", c.tcp_out_of_order);
    set("dpdk_tcp_duplicate_segments", c.tcp_duplicate_segments);
    set("dpdk_tcp_paws_drops", c.tcp_paws_drops);
    set("dpdk_tcp_challenge_acks", c.tcp_challenge_acks);
    set("dpdk_tcp_connections_accepted", c.tcp_connections_accepted);
    set("dpdk_frames_steered", _frames_steered_out);
    set("dpdk_tcp_connections_closed", c.tcp_connections_closed);
    // Open in the stack, every state (TIME-WAIT included), and open to the SMB layer.
    set("dpdk_tcp_connections", _stack->connection_count());
    set("dpdk_connections", _connections.size());
    // Received frames held plus send blocks not yet acknowledged.
    set("dpdk_buffers_outstanding", c.buffers_outstanding);
    // Messages handed to the engine inside their mbuf, and copied into a pool buffer
    // (spanning segments, or lending over its limit).
    set("dpdk_rx_messages_zero_copy", _rx_messages_lent);
    set("dpdk_rx_messages_assembled", _rx_messages_assembled);
    if (_queue == 0) {
        // Process-wide: mbufs held by messages the engine has not released yet.
        set("dpdk_rx_segments_lent", direct_tcp_reassembler::segments_lent());
        // The port's pool is shared by its queues: counted once. Includes the mbufs a PMD
        // keeps posted in its RX ring.
        set("dpdk_mbufs_in_use", rte_mempool_in_use_count(_port.pool()));
    }
    if (_impaired) {
        const net::impairment_counters& i = _impaired->counters();
        set("dpdk_impair_tx_dropped", i.tx_dropped);
        set("dpdk_impair_tx_duplicated", i.tx_duplicated);
        set("dpdk_impair_tx_reordered", i.tx_reordered);
        set("dpdk_impair_rx_dropped", i.rx_dropped);
        set("dpdk_impair_rx_duplicated", i.rx_duplicated);
        set("dpdk_impair_rx_reordered", i.rx_reordered);
    }
}

dpdk_connection* dpdk_transport::find(net::connection_id id) {
    auto it = _connections.find(id);
    return it == _connections.end() ? nullptr : it->second.get();
}

void dpdk_transport::send(net::connection_id id, out_message message) {
    // A request the worker processed itself: straight to the stack.
    _posted.run_or_post({false, id, std::move(message)}, [this](posted p) { run_posted(p); });
}

void dpdk_transport::post_close(net::connection_id id) {
    _posted.post({true, id, {}});
}

void dpdk_transport::run_posted(posted& p) {
    dpdk_connection* c = find(p.id);
    if (!c || c->_closing) {
        return; // gone or closing: the message is dropped
    }
    if (p.close) {
        begin_close(*c);
    } else {
        transmit(*c, std::move(p.message));
    }
}

void dpdk_transport::transmit(dpdk_connection& c, out_message message) {
    // MS-SMB2 2.1: a zero byte and the 24-bit length of head + payload.
    size_t len = message.size();
    if (len > direct_tcp::max_length) {
        LOG_ERROR("%s: message of %zu bytes does not fit Direct TCP framing; closing",
                  c._peer.c_str(), len);
        begin_close(c);
        return;
    }
    bytes frame(direct_tcp::header_size);
    direct_tcp::encode_header(frame.data(), len);
    _stack->send(c._id, net::make_tx_block(std::move(frame)));
    if (!message.head.empty()) {
        _stack->send(c._id, net::make_tx_block(std::move(message.head)));
    }
    if (!message.payload.empty()) {
        if (message.payload.in_pool()) {
            counters::add(counters::data().payload_sent_from_pool_bytes, message.payload.size());
        }
        _stack->send(c._id, new pool_block(std::move(message.payload)));
    }
}

void dpdk_transport::begin_close(dpdk_connection& c) {
    if (c._closing) {
        return;
    }
    c._closing = true;
    // Data already handed to the stack still goes out before the FIN.
    _stack->close(c._id);
}

void dpdk_transport::on_established(net::stack& s, net::connection_id id) {
    std::string peer = "?";
    if (const net::flow_key* k = s.flow(id)) {
        peer = k->remote_ip.to_string() + ":" + std::to_string(k->remote_port);
    }
    auto conn = std::make_shared<dpdk_connection>(*this, id, peer);
    _connections[id] = conn;
    _connection_count.store(_connections.size(), std::memory_order_relaxed);
    LOG_INFO("dpdk connection %llu from %s on worker %u", static_cast<unsigned long long>(id),
             peer.c_str(), _worker.index());
    _events.on_connect(conn);
}

void dpdk_transport::on_data(net::stack&, net::connection_id id, net::packet_buffer payload) {
    auto it = _connections.find(id);
    if (it == _connections.end() || it->second->_closing) {
        return;
    }
    std::shared_ptr<dpdk_connection> conn = it->second; // alive through the callbacks
    direct_tcp_reassembler& rx = conn->_rx;
    const uint64_t lent = rx.messages_lent(), assembled = rx.messages_assembled();
    // A message inside one segment goes to the engine in the mbuf (issue 5), unless too
    // many mbufs are held by messages already: then it is copied, so the RX ring refills.
    const bool may_lend = direct_tcp_reassembler::segments_lent() < _lend_limit;
    rx.set_max_message(conn->max_incoming.load(std::memory_order_relaxed));
    bool ok = rx.feed(std::move(payload), may_lend, [this, &conn](pool_buffer message) {
        _events.on_message(conn, std::move(message));
    });
    _rx_messages_lent += rx.messages_lent() - lent;
    _rx_messages_assembled += rx.messages_assembled() - assembled;
    if (!ok) {
        LOG_WARN("%s: %s; closing", conn->_peer.c_str(), rx.describe_refusal().c_str());
        begin_close(*conn);
    }
}

void dpdk_transport::on_peer_closed(net::stack&, net::connection_id id) {
    // The client will send no more requests: our side closes too (after queued replies).
    if (dpdk_connection* c = find(id)) {
        begin_close(*c);
    } else {
        _stack->close(id);
    }
}

void dpdk_transport::on_closed(net::stack&, net::connection_id id, net::close_reason reason) {
    auto it = _connections.find(id);
    if (it == _connections.end()) {
        return;
    }
    auto conn = it->second;
    _connections.erase(it);
    _connection_count.store(_connections.size(), std::memory_order_relaxed);
    conn->_closing = true;
    LOG_INFO("dpdk connection %llu from %s closed (%s)", static_cast<unsigned long long>(id),
             conn->_peer.c_str(),
             reason == net::close_reason::normal    ? "normal"
             : reason == net::close_reason::reset   ? "reset"
             : reason == net::close_reason::timeout ? "timeout"
                                                    : "aborted");
    _events.on_disconnect(conn);
}

} // namespace smbx::dpdk
