#include "dataplane/dpdk/direct_tcp_reassembler.hh"

#include <algorithm>
#include <cstring>

namespace smbx::dpdk {

namespace {

// Where a large message starts in its pool buffer so that a WRITE's data (after the
// SMB2 header and WRITE request, MS-SMB2 2.2.21, and a TRANSFORM_HEADER, 2.2.41, when
// the first byte says the message is sealed) lands on a page boundary for O_DIRECT.
size_t write_alignment(size_t length, uint8_t first_byte) {
    if (length < 64 * 1024) {
        return 0;
    }
    constexpr size_t write_data_offset = 64 + 48;
    constexpr size_t transform_header_size = 52;
    return write_data_offset + (first_byte == 0xFD ? transform_header_size : 0);
}

} // namespace

bool direct_tcp_reassembler::feed(std::span<const uint8_t> data, const deliver_fn& deliver) {
    size_t pos = 0;
    while (pos < data.size()) {
        if (_header_filled < sizeof _header) {
            size_t n = std::min(sizeof _header - _header_filled, data.size() - pos);
            std::memcpy(_header + _header_filled, data.data() + pos, n);
            _header_filled += n;
            pos += n;
            if (_header_filled < sizeof _header) {
                break;
            }
            // MS-SMB2 2.1: StreamProtocolLength is 24 bits after a zero byte; a message
            // shorter than the SMB2 protocol id cannot be one.
            _length = size_t(_header[1]) << 16 | size_t(_header[2]) << 8 | _header[3];
            if (_header[0] != 0 || _length < 4 || _length > max_message_size) {
                return false;
            }
            _allocated = false;
            _filled = 0;
            continue;
        }
        if (!_allocated) {
            // Allocated with the first body byte in hand, to see whether it is sealed.
            _message = pool_get(_length, write_alignment(_length, data[pos]));
            _allocated = true;
        }
        size_t n = std::min(_length - _filled, data.size() - pos);
        std::memcpy(_message.data() + _filled, data.data() + pos, n);
        _filled += n;
        pos += n;
        if (_filled == _length) {
            _header_filled = 0;
            _allocated = false;
            _filled = 0;
            deliver(std::move(_message));
            _message = pool_buffer();
        }
    }
    return true;
}

} // namespace smbx::dpdk
