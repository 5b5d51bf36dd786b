// The only thing the stack needs from a network card. Received frames are pushed into
// the stack (stack::receive) by whoever polls the NIC; frames to send leave in bursts.
#pragma once

#include <cstddef>
#include <span>

#include "dataplane/net/net_types.hh"
#include "dataplane/net/packet_buffer.hh"

namespace smbx::net {

// Where received frames go: the stack, or a test filter in front of it (impaired_nic).
class frame_receiver {
public:
    virtual ~frame_receiver() = default;
    virtual void receive(packet_buffer frame, time_us now) = 0;
};

class nic {
public:
    virtual ~nic() = default;
    // Queues frames for transmission and returns how many it took (a full TX ring takes
    // fewer; the stack counts the rest as dropped and TCP retransmits). Payload fragments
    // are valid only during the call: a NIC that keeps them calls block->hold() and later
    // block->drop().
    virtual size_t send_burst(std::span<const tx_frame> frames) = 0;
    virtual mac_address mac() const = 0;
};

} // namespace smbx::net
