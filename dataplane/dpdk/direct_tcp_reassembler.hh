// Direct TCP framing (MS-SMB2 2.1) over a byte stream that arrives in pieces of any
// size, as the user-space stack hands over TCP segments: each message is a zero byte,
// a 24-bit big-endian length, then the message.
//
// A message that lies whole inside one received segment (anything under the MSS: a
// READ request, CREATE, QUERY_INFO, ECHO...) is handed to the engine in place: a
// pool_buffer lent from the segment, which keeps the segment (its mbuf) until the
// engine drops the last message cut from it (rx_segment_share). A message that spans
// segments (a header cut at a segment's end, a WRITE larger than the MSS) is copied
// into one pool buffer, since the engine wants it contiguous.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "dataplane/net/packet_buffer.hh"
#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/runtime/direct_tcp.hh"

namespace smbx::dpdk {

class direct_tcp_reassembler {
public:
    // 8 MiB payload plus headers: the largest read/write/transact size we negotiate.
    static constexpr size_t max_message_size = 8 * 1024 * 1024 + 64 * 1024;

    using deliver_fn = std::function<void(pool_buffer message)>;

    // Consumes one received segment, calling `deliver` for each message it completes.
    // With `may_lend`, a message wholly inside the segment is delivered as a view of
    // it (no copy); the segment is then released when the last such message is, on
    // whatever thread drops it, so it must not be counted in a counter of the stack's
    // (it is untracked here) and its release hook must be safe on any thread. False
    // when the peer broke the framing (not a zero type byte, or a length out of range or
    // over set_max_message());
    // the stream is then unusable and the connection must be closed.
    bool feed(net::packet_buffer segment, bool may_lend, const deliver_fn& deliver);
    // The same, copying every message (fuzzing, callers without a segment to lend).
    bool feed(std::span<const uint8_t> data, const deliver_fn& deliver);

    // The longest message accepted from now on (the connection's max_incoming,
    // transport.hh: small until the connection has a session); at most max_message_size.
    void set_max_message(size_t n) { _max_message = n < max_message_size ? n : max_message_size; }

    // Bytes of the message being assembled so far (tests).
    size_t pending() const { return _filled; }
    // Messages delivered as views of their segment, and copied into a pool buffer.
    uint64_t messages_lent() const { return _messages_lent; }
    uint64_t messages_assembled() const { return _messages_assembled; }

    // Segments held by lent messages the engine has not released yet, process-wide
    // (any thread): the transport stops lending when too many mbufs are held, so the
    // NIC's RX ring is never starved by requests that wait long (CHANGE_NOTIFY, locks).
    static uint64_t segments_lent() { return _segments_lent.load(std::memory_order_relaxed); }

private:
    friend class rx_segment_share;
    // Consumes bytes at `p` (at most `n`) by copying, up to the end of the current
    // header or message; returns how many, or SIZE_MAX for bad framing.
    size_t copy_step(const uint8_t* p, size_t n, const deliver_fn& deliver);

    uint8_t _header[direct_tcp::header_size]{};
    size_t _header_filled = 0;
    size_t _length = 0; // of the message after the header
    size_t _max_message = max_message_size;
    bool _allocated = false;
    pool_buffer _message;
    size_t _filled = 0;
    uint64_t _messages_lent = 0;
    uint64_t _messages_assembled = 0;
    static inline std::atomic<uint64_t> _segments_lent{0};
};

} // namespace smbx::dpdk
