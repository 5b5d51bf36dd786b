// The Direct TCP framer (MS-SMB2 2.1) both TCP backends feed: the io_uring one with the
// ring buffers its receives land in (tcp/tcp_receive.cc), the DPDK one with the
// segments its user-space stack hands over (dpdk/direct_tcp_reassembler.cc). Each
// message on the stream is a zero byte, a 24-bit big-endian length, then the message;
// the framer cuts messages out of the pieces however the stream was split:
// - a message lying whole in one piece is lent to the engine in place, when the
//   piece's owner can lend it (a view of a ring buffer, of an mbuf);
// - any other message is assembled into a pool buffer;
// - a large one (large_message and up: a WRITE, mostly) gets a pool buffer placed so
//   that a WRITE's data is page aligned, and a backend that can receive straight into
//   memory asks where the rest goes (direct_target) instead of feeding it.
// A frame header that is not Direct TCP or announces more than the connection's limit
// stops the stream (the connection must be closed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/runtime/direct_tcp.hh"
#include "dataplane/runtime/message_limits.hh"

namespace smbx {

class direct_tcp_framer {
public:
    // From this size on a message is never lent and gets its own placed pool buffer.
    static constexpr size_t large_message = 64 * 1024;

    enum class status {
        ok,
        bad_frame, // not a Direct TCP header (MS-SMB2 2.1), or a length below 4 or above max_message_size
        over_limit, // a valid header announcing more than set_max_message() allows
    };

    using deliver_fn = std::function<void(pool_buffer message)>;
    // Lends `length` bytes at `offset` of the piece being fed as a pool buffer that keeps
    // the piece alive; an empty buffer declines (the message is then copied).
    using lend_fn = std::function<pool_buffer(size_t offset, size_t length)>;

    // Frames one received piece of the stream, calling `deliver` for each message it
    // completes. `lend` (may be empty: copy everything) is asked for each message under
    // large_message that lies whole in the piece. Stops at the first bad header: the
    // messages before it were delivered, the stream is unusable from there.
    status feed(std::span<const uint8_t> piece, const lend_fn& lend, const deliver_fn& deliver);

    // Large-message placement: where the rest of the current message goes, when it is a
    // large one whose pool buffer exists (empty otherwise: feed the next piece). A
    // backend may receive straight into it and then report the bytes with received().
    std::span<uint8_t> direct_target();
    // `n` bytes (at most direct_target().size()) were put at direct_target().
    void received(size_t n, const deliver_fn& deliver);

    // The longest message accepted from the next header on: the connection's
    // max_incoming (transport.hh), at most max_message_size. The engine enforces the
    // same limit for every transport; checking at the header only saves allocating a
    // buffer for a message that would be refused.
    void set_max_message(size_t n) { _max_message = n < max_message_size ? n : max_message_size; }

    // Why the last feed stopped, for the log: the header bytes and the limit.
    std::string describe_refusal() const;

    // Bytes of the message being assembled so far.
    size_t pending() const { return _filled; }
    // Inside a message (its header complete, not all of it delivered).
    bool in_message() const { return _header_filled == direct_tcp::header_size; }

    // Running totals, for the backends' counters.
    struct totals {
        uint64_t messages_lent = 0;      // delivered as views of their piece
        uint64_t messages_assembled = 0; // delivered in a pool buffer of their own
        uint64_t bytes_assembled = 0;    // copied out of pieces into those buffers
        uint64_t bytes_direct = 0;       // put straight there (received())
    };
    const totals& stats() const { return _totals; }

private:
    // Consumes bytes at `p` (at most `n`) up to the end of the current header or message,
    // copying; returns how many, or SIZE_MAX after a refused header (_refused says why).
    size_t copy_step(const uint8_t* p, size_t n, const deliver_fn& deliver);
    // Checks the complete header in _header; starts the message.
    status begin_message();
    void finish_message(const deliver_fn& deliver);

    uint8_t _header[direct_tcp::header_size]{};
    size_t _header_filled = 0;
    size_t _length = 0; // of the current message
    size_t _max_message = pre_session_max_message;
    bool _allocated = false;
    pool_buffer _message;
    size_t _filled = 0;
    status _refused = status::ok;
    totals _totals;
};

} // namespace smbx
