// Settings and counters of one stack instance (one per worker).
#pragma once

#include <cstdint>

#include "dataplane/net/net_types.hh"

namespace smbx::net {

// Test mode (`dpdk impair`, control/config_dpdk.hh): the fraction of frames that
// impaired_nic drops, duplicates and holds back behind the next frame, in each direction.
// All zero (the default): no impairment, frames go straight between port and stack.
struct impairment {
    double drop = 0;
    double duplicate = 0;
    double reorder = 0;
    uint64_t seed = 1;

    bool enabled() const { return drop > 0 || duplicate > 0 || reorder > 0; }
};

struct stack_config {
    ipv4_address address;
    ipv4_address netmask = ipv4_address::from_octets(255, 255, 255, 0);
    ipv4_address gateway; // 0: none, only the local subnet is reachable
    uint16_t mtu = 1500;
    uint8_t ttl = 64;

    // TCP receive window per connection, in bytes (scaled with RFC 7323 window scaling).
    uint32_t receive_window = 1u << 20;
    // Connections in SYN-RECEIVED per listening port; SYNs beyond it are dropped.
    uint32_t syn_backlog = 256;
    uint32_t max_connections = 100000;

    // RFC 6298 2.1 initial RTO of 1 s. The floor of 2.4 is 1 s, but like most stacks we
    // use 200 ms: SMB clients sit on LANs and a 1 s stall per loss is too costly.
    time_us initial_rto = 1'000'000;
    time_us min_rto = 200'000;
    time_us max_rto = 60'000'000;
    // RFC 1122 4.2.3.5: give up after R2 retransmissions (about 15 minutes at max_rto).
    uint32_t max_retransmits = 15;
    uint32_t max_syn_ack_retransmits = 5;
    // RFC 9293 3.8.6.3: ACK at least every second full segment and within 500 ms.
    time_us delayed_ack = 40'000;
    uint32_t initial_window_segments = 10; // RFC 6928
    // RFC 1122 4.2.3.6: keep-alive after at least two hours idle by default.
    time_us keepalive_idle = 7200'000'000;
    time_us keepalive_interval = 75'000'000;
    uint32_t keepalive_probes = 9;
    // 2 * MSL (RFC 9293 3.4.2). MSL of 30 s, as Linux uses.
    time_us time_wait = 60'000'000;

    size_t arp_cache_size = 256;
    time_us arp_lifetime = 300'000'000;
    time_us arp_retry = 1'000'000;

    // Secret for the RFC 6528 initial sequence number function.
    uint64_t isn_secret = 0x6a09e667f3bcc908ULL;

    // Read by the transport that builds the stack's NIC (dpdk_transport), not the stack.
    impairment impair;
};

struct stack_counters {
    uint64_t frames_received = 0;
    uint64_t frames_sent = 0;
    uint64_t frames_tx_dropped = 0; // the NIC took fewer frames than offered
    uint64_t dropped_malformed = 0; // short or inconsistent headers
    uint64_t dropped_checksum = 0;
    uint64_t dropped_fragments = 0; // IPv4 fragments: no reassembly
    uint64_t dropped_not_for_us = 0;
    uint64_t dropped_unsupported = 0; // other ethertypes or IP protocols
    uint64_t arp_replies_sent = 0;
    uint64_t arp_requests_sent = 0;
    uint64_t icmp_echo_replies = 0;

    uint64_t tcp_segments_received = 0;
    uint64_t tcp_segments_sent = 0;
    uint64_t tcp_retransmits = 0; // segments sent again, for any reason
    uint64_t tcp_fast_retransmits = 0;
    uint64_t tcp_timeouts = 0;
    uint64_t tcp_out_of_order = 0;       // segments queued ahead of RCV.NXT
    uint64_t tcp_duplicate_segments = 0; // wholly old data
    uint64_t tcp_resets_sent = 0;
    uint64_t tcp_resets_received = 0;
    uint64_t tcp_challenge_acks = 0; // RFC 5961
    uint64_t tcp_paws_drops = 0;     // RFC 7323 5
    uint64_t tcp_syn_backlog_drops = 0;
    uint64_t tcp_connections_accepted = 0;
    uint64_t tcp_connections_connected = 0; // active opens established
    uint64_t tcp_connections_closed = 0;
    uint64_t tcp_keepalive_probes = 0;

    // Received frames held (by the stack or the application) plus send blocks not yet
    // acknowledged: 0 when everything has been given back.
    uint64_t buffers_outstanding = 0;
};

} // namespace smbx::net
