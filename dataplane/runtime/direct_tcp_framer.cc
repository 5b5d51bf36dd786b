#include "dataplane/runtime/direct_tcp_framer.hh"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace smbx {

namespace {

constexpr size_t refused = SIZE_MAX;

// Where a large message starts in its pool buffer so that a WRITE's data (after the
// SMB2 header and WRITE request, MS-SMB2 2.2.21, and a TRANSFORM_HEADER, 2.2.41, when
// the first byte says the message is sealed) lands on a page boundary for O_DIRECT
// (runtime/buffer_pool.hh).
size_t write_alignment(size_t length, uint8_t first_byte) {
    if (length < direct_tcp_framer::large_message) {
        return 0;
    }
    constexpr size_t write_data_offset = 64 + 48;
    constexpr size_t transform_header_size = 52;
    return write_data_offset + (first_byte == 0xFD ? transform_header_size : 0);
}

} // namespace

direct_tcp_framer::status direct_tcp_framer::begin_message() {
    _length = direct_tcp::message_length(_header, max_message_size);
    if (_length == direct_tcp::bad_frame) {
        return _refused = status::bad_frame;
    }
    if (_length > _max_message) {
        return _refused = status::over_limit;
    }
    _allocated = false;
    _filled = 0;
    return status::ok;
}

void direct_tcp_framer::finish_message(const deliver_fn& deliver) {
    _header_filled = 0;
    _allocated = false;
    _filled = 0;
    ++_totals.messages_assembled;
    pool_buffer m = std::move(_message);
    _message = pool_buffer();
    deliver(std::move(m));
}

size_t direct_tcp_framer::copy_step(const uint8_t* p, size_t n, const deliver_fn& deliver) {
    if (_header_filled < sizeof _header) {
        // The 4-byte header may itself be split across pieces.
        size_t k = std::min(sizeof _header - _header_filled, n);
        std::memcpy(_header + _header_filled, p, k);
        _header_filled += k;
        if (_header_filled == sizeof _header && begin_message() != status::ok) {
            return refused;
        }
        return k;
    }
    if (!_allocated) {
        // Allocated with the first body byte in hand, to see whether it is sealed.
        _message = pool_get(_length, write_alignment(_length, p[0]));
        _allocated = true;
    }
    size_t k = std::min(_length - _filled, n);
    std::memcpy(_message.data() + _filled, p, k);
    _filled += k;
    _totals.bytes_assembled += k;
    if (_filled == _length) {
        finish_message(deliver);
    }
    return k;
}

direct_tcp_framer::status direct_tcp_framer::feed(std::span<const uint8_t> piece,
                                                  const lend_fn& lend,
                                                  const deliver_fn& deliver) {
    const uint8_t* data = piece.data();
    const size_t size = piece.size();
    for (size_t pos = 0; pos < size;) {
        // At a message boundary with the whole message in this piece: lend it.
        if (lend && _header_filled == 0 && size - pos >= sizeof _header) {
            std::memcpy(_header, data + pos, sizeof _header);
            _header_filled = sizeof _header;
            if (begin_message() != status::ok) {
                return _refused;
            }
            const size_t body = pos + sizeof _header;
            if (_length < large_message && _length <= size - body) {
                if (pool_buffer m = lend(body, _length); m.size() == _length) {
                    _header_filled = 0;
                    ++_totals.messages_lent;
                    deliver(std::move(m));
                    pos = body + _length;
                    continue;
                }
            }
            pos = body; // copied from here on, like a header that came in pieces
            continue;
        }
        size_t n = copy_step(data + pos, size - pos, deliver);
        if (n == refused) {
            return _refused;
        }
        pos += n;
    }
    return status::ok;
}

std::span<uint8_t> direct_tcp_framer::direct_target() {
    if (!in_message() || !_allocated || _length < large_message) {
        return {};
    }
    return {_message.data() + _filled, _length - _filled};
}

void direct_tcp_framer::received(size_t n, const deliver_fn& deliver) {
    n = std::min(n, _length - _filled);
    _filled += n;
    _totals.bytes_direct += n;
    if (_filled == _length) {
        finish_message(deliver);
    }
}

std::string direct_tcp_framer::describe_refusal() const {
    char s[160];
    const uint8_t* h = _header;
    if (_refused == status::over_limit) {
        std::snprintf(s, sizeof s, "a %zu-byte message, over the connection's limit of %zu",
                      _length, _max_message);
    } else {
        std::snprintf(s, sizeof s, "bad Direct TCP frame header %02x %02x %02x %02x", h[0],
                      h[1], h[2], h[3]);
    }
    return s;
}

} // namespace smbx
