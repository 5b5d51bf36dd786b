// Direct TCP framing (MS-SMB2 2.1) over a byte stream that arrives in pieces of any
// size, as the user-space stack hands over TCP segments: each message is a zero byte,
// a 24-bit big-endian length, then the message. The message is copied out of the
// segments into one pool buffer (the engine wants it contiguous, and a message larger
// than one MSS always spans segments), so the segments' mbufs go back to the NIC at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "dataplane/runtime/buffer_pool.hh"

namespace smbx::dpdk {

class direct_tcp_reassembler {
public:
    // 8 MiB payload plus headers: the largest read/write/transact size we negotiate.
    static constexpr size_t max_message_size = 8 * 1024 * 1024 + 64 * 1024;

    using deliver_fn = std::function<void(pool_buffer message)>;

    // Consumes `data`, calling `deliver` for each message it completes. False when the
    // peer broke the framing (not a zero type byte, or a length out of range); the
    // stream is then unusable and the connection must be closed.
    bool feed(std::span<const uint8_t> data, const deliver_fn& deliver);

    // Bytes of the message being assembled so far (tests).
    size_t pending() const { return _filled; }

private:
    uint8_t _header[4]{};
    size_t _header_filled = 0;
    size_t _length = 0; // of the message after the header
    bool _allocated = false;
    pool_buffer _message;
    size_t _filled = 0;
};

} // namespace smbx::dpdk
