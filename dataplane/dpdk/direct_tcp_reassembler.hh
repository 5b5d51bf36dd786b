// Direct TCP framing (MS-SMB2 2.1) of the segments the user-space stack hands over:
// the shared framer (runtime/direct_tcp_framer.hh) cuts the messages, and this adds
// what is particular to DPDK, lending from an mbuf.
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
#include <span>

#include "dataplane/net/packet_buffer.hh"
#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/runtime/direct_tcp_framer.hh"

namespace smbx::dpdk {

class direct_tcp_reassembler {
public:
    using deliver_fn = direct_tcp_framer::deliver_fn;

    // Consumes one received segment, calling `deliver` for each message it completes.
    // With `may_lend`, a message wholly inside the segment is delivered as a view of
    // it (no copy); the segment is then released when the last such message is, on
    // whatever thread drops it, so it must not be counted in a counter of the stack's
    // (it is untracked here) and its release hook must be safe on any thread. False
    // when the peer broke the framing or announced a message over set_max_message()
    // (describe_refusal says which); the stream is then unusable and the connection
    // must be closed.
    bool feed(net::packet_buffer segment, bool may_lend, const deliver_fn& deliver);
    // The same, copying every message (fuzzing, callers without a segment to lend).
    bool feed(std::span<const uint8_t> data, const deliver_fn& deliver) {
        return _framer.feed(data, {}, deliver) == direct_tcp_framer::status::ok;
    }

    // The longest message accepted from now on (the connection's max_incoming).
    void set_max_message(size_t n) { _framer.set_max_message(n); }
    std::string describe_refusal() const { return _framer.describe_refusal(); }

    // Bytes of the message being assembled so far (tests).
    size_t pending() const { return _framer.pending(); }
    // Messages delivered as views of their segment, and copied into a pool buffer.
    uint64_t messages_lent() const { return _framer.stats().messages_lent; }
    uint64_t messages_assembled() const { return _framer.stats().messages_assembled; }

    // Segments held by lent messages the engine has not released yet, process-wide
    // (any thread): the transport stops lending when too many mbufs are held, so the
    // NIC's RX ring is never starved by requests that wait long (CHANGE_NOTIFY, locks).
    static uint64_t segments_lent() { return _segments_lent.load(std::memory_order_relaxed); }

private:
    friend class rx_segment_share;

    direct_tcp_framer _framer;
    static inline std::atomic<uint64_t> _segments_lent{0};
};

} // namespace smbx::dpdk
