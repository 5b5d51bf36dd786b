// Direct TCP framing (MS-SMB2 2.1): every SMB2 message on a TCP connection is preceded
// by a zero byte and its length in 3 bytes, big-endian. The io_uring and DPDK
// transports both frame and unframe with these.
#pragma once

#include <cstddef>
#include <cstdint>

namespace smbx::direct_tcp {

constexpr size_t header_size = 4;
// The largest length the 3 bytes carry.
constexpr size_t max_length = 0xffffff;
// What message_length() returns for a header we refuse.
constexpr size_t bad_frame = SIZE_MAX;

// The length of the message that follows `header`, or bad_frame: the first byte is not
// zero, or the length is below 4 (a message shorter than the SMB2 ProtocolId cannot be
// one) or above `max_message`.
inline size_t message_length(const uint8_t* header, size_t max_message) {
    size_t length = size_t(header[1]) << 16 | size_t(header[2]) << 8 | header[3];
    if (header[0] != 0 || length < 4 || length > max_message) {
        return bad_frame;
    }
    return length;
}

// Writes the header for a message of `length` bytes (at most max_length).
inline void encode_header(uint8_t* out, size_t length) {
    out[0] = 0;
    out[1] = uint8_t(length >> 16);
    out[2] = uint8_t(length >> 8);
    out[3] = uint8_t(length);
}

} // namespace smbx::direct_tcp
