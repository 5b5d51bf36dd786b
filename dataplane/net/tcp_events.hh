// What the stack tells the application about its TCP connections, and the names it
// uses for them.
#pragma once

#include <cstdint>

#include "dataplane/net/packet_buffer.hh"

namespace smbx::net {

class stack;

// Never reused within a stack; 0 is no connection.
using connection_id = uint64_t;

enum class tcp_state : uint8_t {
    closed,
    listen,
    syn_sent,
    syn_received,
    established,
    fin_wait_1,
    fin_wait_2,
    close_wait,
    closing,
    last_ack,
    time_wait,
};
const char* to_string(tcp_state s);

enum class close_reason : uint8_t {
    normal,  // both FINs exchanged (or our FIN sent and theirs received)
    reset,   // the peer sent RST
    timeout, // retransmissions or keep-alive probes unanswered
    aborted, // the application called abort()
};

// Callbacks run inside stack::receive()/poll(). They may call the stack's send, close
// and abort for any connection, including the one being reported.
class tcp_events {
public:
    virtual ~tcp_events() = default;
    // A connection reached ESTABLISHED (passive: the handshake's ACK arrived).
    virtual void on_established(stack& s, connection_id id) = 0;
    // The next in-order payload. Holding `payload` holds the received frame.
    virtual void on_data(stack& s, connection_id id, packet_buffer payload) = 0;
    // The peer sent FIN: no more data will arrive. The connection may still send.
    virtual void on_peer_closed(stack& s, connection_id id) = 0;
    // The connection is finished for the application; the id is no longer valid.
    virtual void on_closed(stack& s, connection_id id, close_reason reason) = 0;
};

} // namespace smbx::net
