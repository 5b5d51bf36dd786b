#include "control/auth/der.hh"

namespace smbx::auth::der {

reader::reader(byte_span data, unsigned depth)
    : _in(data), _depth(depth), _failed(depth > max_depth) {}

std::optional<element> reader::next() {
    if (_failed || _in.remaining() == 0) {
        _failed = true;
        return std::nullopt;
    }
    size_t start = _in.position();
    element e;
    e.tag = _in.u8();
    // Tag number 31 announces a multi-byte tag, which nothing in SPNEGO uses.
    if ((e.tag & 0x1f) == 0x1f) {
        _failed = true;
        return std::nullopt;
    }
    uint8_t first = _in.u8();
    size_t length = first;
    if (first & 0x80) {
        // Long form: 1..4 length octets. 0x80 alone is BER's indefinite length, not DER.
        unsigned count = first & 0x7f;
        if (count == 0 || count > 4) {
            _failed = true;
            return std::nullopt;
        }
        length = 0;
        for (unsigned i = 0; i < count; ++i) {
            length = (length << 8) | _in.u8();
        }
    }
    e.content = _in.take(length);
    if (!_in.ok()) {
        _failed = true;
        return std::nullopt;
    }
    e.encoding = _in.data().subspan(start, _in.position() - start);
    return e;
}

std::optional<element> reader::expect(uint8_t tag) {
    auto e = next();
    if (!e || e->tag != tag) {
        _failed = true;
        return std::nullopt;
    }
    return e;
}

std::optional<element> reader::optional(uint8_t tag) {
    if (_failed || _in.remaining() == 0 || _in.data()[_in.position()] != tag) {
        return std::nullopt;
    }
    return next();
}

reader reader::enter(const element& e) const {
    // Only constructed elements (bit 0x20) have elements inside.
    reader r(e.content, _depth + 1);
    if (_failed || !(e.tag & 0x20)) {
        r._failed = true;
    }
    return r;
}

void put(bytes& out, uint8_t tag, byte_span content) {
    out.push_back(tag);
    size_t n = content.size();
    if (n < 0x80) {
        out.push_back(uint8_t(n));
    } else {
        unsigned count = 0;
        for (size_t v = n; v; v >>= 8) {
            ++count;
        }
        out.push_back(uint8_t(0x80 | count));
        for (unsigned i = count; i-- > 0;) {
            out.push_back(uint8_t(n >> (8 * i)));
        }
    }
    out.insert(out.end(), content.begin(), content.end());
}

bytes encode(uint8_t tag, byte_span content) {
    bytes out;
    put(out, tag, content);
    return out;
}

} // namespace smbx::auth::der
