// One TCP/IPv4 stack instance: Ethernet, ARP, IPv4, ICMP echo and TCP, for one worker,
// sharing nothing with other instances (in the spirit of Seastar's native stack).
//
// Driving it: push each received frame with receive(frame, now), then call poll(now),
// which runs timers and sends the frames produced since the last poll as one burst.
// Time is whatever monotonic microsecond clock the caller passes in.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "dataplane/net/arp_cache.hh"
#include "dataplane/net/nic.hh"
#include "dataplane/net/stack_config.hh"
#include "dataplane/net/tcp_connection.hh"
#include "dataplane/net/tcp_events.hh"

namespace smbx::net {

// Told when the stack learns a neighbour's MAC from an ARP packet addressed to it. With
// one stack per worker, the NIC may deliver the ARP reply to any worker's queue: the
// observer passes the mapping to the other stacks (learn_neighbor), off the per-packet
// path (ARP packets are rare).
class neighbor_observer {
public:
    virtual ~neighbor_observer() = default;
    virtual void on_neighbor_learned(ipv4_address ip, const mac_address& mac) = 0;
};

class stack final : public frame_receiver {
public:
    stack(nic& port, const stack_config& config);
    ~stack() override;
    stack(const stack&) = delete;
    stack& operator=(const stack&) = delete;

    void receive(packet_buffer frame, time_us now) override;
    void poll(time_us now);

    // `observer` (may be null) must outlive the stack.
    void set_neighbor_observer(neighbor_observer* observer) { _neighbor_observer = observer; }
    // A mapping another stack learned: cached as if from an ARP packet (RFC 826 merge),
    // and connections waiting for that next hop send. Does not notify the observer.
    void learn_neighbor(ipv4_address ip, const mac_address& mac, time_us now);

    // Accept connections on `port`; `events` must outlive the stack.
    bool listen(uint16_t port, tcp_events* events);
    // Active open to remote:port from local_port (test clients); 0 if impossible.
    connection_id connect(ipv4_address remote, uint16_t remote_port, uint16_t local_port,
                          tcp_events* events, time_us now);
    // Queues `block` (taking its reference) after data already queued. False, with the
    // block dropped, if the connection is gone or closing.
    bool send(connection_id id, tx_block* block);
    void close(connection_id id);
    void abort(connection_id id);

    tcp_state state(connection_id id) const;
    const flow_key* flow(connection_id id) const;
    const tcp_connection* connection(connection_id id) const;
    const stack_counters& counters() const { return _counters; }
    size_t connection_count() const; // every state, TIME-WAIT included
    const stack_config& config() const { return _config; }
    time_us now() const { return _now; }

    // For tcp_connection: building frames, counters, lifetime.
    stack_counters& counters_mut() { return _counters; }
    // A frame with room for Ethernet and IPv4 headers, which finish_tcp_frame writes;
    // nullptr when the next hop is not resolved yet (an ARP request is sent instead).
    tx_frame* begin_ipv4_frame(ipv4_address dst);
    void add_payload(tx_frame* f, const uint8_t* data, uint32_t size, tx_block* block);
    void finish_tcp_frame(tx_frame* f, ipv4_address dst);
    void send_reset(const flow_key& key, uint32_t seq, uint32_t ack, bool with_ack);
    uint32_t initial_sequence(const flow_key& key, time_us now) const;
    void mark_dirty(tcp_connection* c);
    void backlog_release(uint16_t port);
    void forget_id(connection_id id);
    void retire(tcp_connection* c);

    static constexpr size_t l4_offset = ethernet_header_size + ipv4_header_size;

private:
    struct listener {
        tcp_events* events = nullptr;
        uint32_t syn_received = 0;
    };

    void handle_arp(byte_reader& r);
    void handle_ipv4(byte_reader& r, packet_buffer frame, const mac_address& src);
    void handle_icmp(const ipv4_header& ip, std::span<const uint8_t> message);
    void handle_tcp(const ipv4_header& ip, size_t offset, size_t size, packet_buffer frame);
    void handle_listen(listener& l, const flow_key& key, const tcp_header& h, size_t len);
    void handle_no_connection(const flow_key& key, const tcp_header& h, size_t len);
    void send_arp(uint16_t op, const mac_address& dst_mac, ipv4_address target_ip,
                  const mac_address& target_mac);
    ipv4_address next_hop(ipv4_address dst) const;
    tx_frame* new_frame();
    void flush();
    void reap();

    nic& _nic;
    stack_config _config;
    mac_address _mac;
    stack_counters _counters;
    arp_cache _arp;
    neighbor_observer* _neighbor_observer = nullptr;
    time_us _now = 0;
    time_us _next_timer_scan = 0;
    uint16_t _ip_id = 0;
    connection_id _next_id = 1;

    std::unordered_map<flow_key, std::unique_ptr<tcp_connection>, flow_key_hash> _connections;
    std::unordered_map<connection_id, tcp_connection*> _by_id;
    std::unordered_map<uint16_t, listener> _listeners;
    std::vector<connection_id> _dirty;
    std::vector<flow_key> _retired;
    std::vector<tx_frame> _tx_batch;
};

} // namespace smbx::net
