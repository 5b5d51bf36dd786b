// Which worker's stack owns a received TCP segment, when one port feeds one stack per
// worker. The NIC spreads frames over the workers' queues by its own hash (RSS, or
// af_packet's PACKET_FANOUT, which may also roll a frame over to another socket when
// one is full), and that need not keep all of a flow's segments on one queue. So the
// owner is decided here, by a hash of the flow that every worker computes alike; a
// worker that receives a segment it does not own hands it to the owner. Everything
// that is not an IPv4 TCP segment (ARP, ICMP, fragments) stays where it arrived.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "dataplane/net/net_types.hh"

namespace smbx::net {

// The worker (0 .. workers-1) that owns `flow`; the same on every worker.
size_t flow_owner(const flow_key& flow, size_t workers);

// The owner of the TCP segment in Ethernet `frame` (flow as seen by the receiving
// stack: local = destination), or nullopt when the frame is anything else or too short
// to tell; those are handled by the worker that received them.
std::optional<size_t> segment_owner(std::span<const uint8_t> frame, size_t workers);

} // namespace smbx::net
