// Bounds-checked little-endian reader and writer for wire formats (SMB2, NTLMSSP,
// DCE/RPC, ring messages). Every parser of network input goes through byte_reader:
// a read past the end sets a sticky error flag and yields zeros, so a parser checks
// ok() once at the end instead of after every field.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace smbx {

using bytes = std::vector<uint8_t>;
using byte_span = std::span<const uint8_t>;

// std::byteswap is C++23.
template <typename T> constexpr T byte_swap(T v) {
    if constexpr (sizeof(T) == 2) {
        return __builtin_bswap16(v);
    } else if constexpr (sizeof(T) == 4) {
        return __builtin_bswap32(v);
    } else if constexpr (sizeof(T) == 8) {
        return __builtin_bswap64(v);
    }
    return v;
}

template <typename T> constexpr T to_little_endian(T v) {
    return std::endian::native == std::endian::big ? byte_swap(v) : v;
}

class byte_reader {
public:
    byte_reader() = default;
    explicit byte_reader(byte_span data) : _data(data) {}

    bool ok() const { return !_failed; }
    void fail() { _failed = true; }
    size_t position() const { return _pos; }
    size_t size() const { return _data.size(); }
    size_t remaining() const { return _failed ? 0 : _data.size() - _pos; }
    byte_span data() const { return _data; }

    void seek(size_t pos) {
        if (pos > _data.size()) {
            _failed = true;
            return;
        }
        _pos = pos;
    }
    void skip(size_t n) { seek(_pos + n); }

    uint8_t u8() { return read_le<uint8_t>(); }
    uint16_t u16() { return read_le<uint16_t>(); }
    uint32_t u32() { return read_le<uint32_t>(); }
    uint64_t u64() { return read_le<uint64_t>(); }
    uint16_t u16be() { return byte_swap(read_le<uint16_t>()); }
    uint32_t u32be() { return byte_swap(read_le<uint32_t>()); }

    // n bytes from the current position; empty span (and failure) if fewer remain.
    byte_span take(size_t n) {
        if (_failed || n > _data.size() - _pos) {
            _failed = true;
            return {};
        }
        auto s = _data.subspan(_pos, n);
        _pos += n;
        return s;
    }
    void copy_to(void* dst, size_t n) {
        auto s = take(n);
        if (!s.empty()) {
            std::memcpy(dst, s.data(), n);
        } else if (n) {
            std::memset(dst, 0, n);
        }
    }

    // A field addressed by (offset, length) relative to the start of this reader's
    // data, as SMB2 and NTLMSSP do. Does not move the position.
    byte_span at(size_t offset, size_t length) {
        if (offset > _data.size() || length > _data.size() - offset) {
            _failed = true;
            return {};
        }
        return _data.subspan(offset, length);
    }

private:
    // One bounds check and one load per field: the SMB2 header and READ/WRITE are
    // parsed on every request (a byte loop cost about 300 instructions per READ).
    template <typename T> T read_le() {
        if (_failed || sizeof(T) > _data.size() - _pos) {
            _failed = true;
            return 0;
        }
        T v;
        std::memcpy(&v, _data.data() + _pos, sizeof(T));
        _pos += sizeof(T);
        return to_little_endian(v);
    }

    byte_span _data;
    size_t _pos = 0;
    bool _failed = false;
};

class byte_writer {
public:
    byte_writer() = default;
    explicit byte_writer(bytes&& initial) : _buf(std::move(initial)) {}

    size_t size() const { return _buf.size(); }
    const bytes& buffer() const { return _buf; }
    bytes& buffer() { return _buf; }
    bytes take() { return std::move(_buf); }

    void u8(uint8_t v) { _buf.push_back(v); }
    void u16(uint16_t v) { put_le(v); }
    void u32(uint32_t v) { put_le(v); }
    void u64(uint64_t v) { put_le(v); }
    void u16be(uint16_t v) { put_le(byte_swap(v)); }
    void u32be(uint32_t v) { put_le(byte_swap(v)); }
    void put(byte_span s) { put(s.data(), s.size()); }
    // resize + memcpy rather than vector::insert: same cost, and it keeps g++ 12's
    // -Wstringop-overflow false positive on inlined inserts away.
    void put(const void* p, size_t n) {
        if (n == 0) {
            return;
        }
        size_t at = _buf.size();
        _buf.resize(at + n);
        std::memcpy(_buf.data() + at, p, n);
    }
    void zeros(size_t n) { _buf.insert(_buf.end(), n, 0); }
    void align(size_t a) {
        while (_buf.size() % a) {
            _buf.push_back(0);
        }
    }

    // Reserve a field now, fill it later (lengths and offsets known only after the body).
    size_t reserve(size_t n) {
        size_t at = _buf.size();
        zeros(n);
        return at;
    }
    void patch_u16(size_t at, uint16_t v) { patch_le(at, v); }
    void patch_u32(size_t at, uint32_t v) { patch_le(at, v); }
    void patch_u64(size_t at, uint64_t v) { patch_le(at, v); }

private:
    // push_back per byte: as cheap as resize + memcpy for a field this small, which
    // zero-fills first (std::vector has no uninitialised append).
    template <typename T> void put_le(T v) {
        for (size_t i = 0; i < sizeof(T); ++i) {
            _buf.push_back(uint8_t(v >> (8 * i)));
        }
    }
    template <typename T> void patch_le(size_t at, T v) {
        (void)_buf.at(at + sizeof(T) - 1); // a patch outside the message is a bug: throws
        v = to_little_endian(v);
        std::memcpy(_buf.data() + at, &v, sizeof(T));
    }

    bytes _buf;
};

// UTF-16LE <-> UTF-8 for names on the wire. Invalid input (unpaired surrogates,
// odd byte counts, bad UTF-8) returns false.
bool utf16le_to_utf8(byte_span in, std::string& out);
// Decodes the UTF-8 code point at s[i] and advances i past it. A bad lead or
// continuation byte yields U+FFFD and advances one byte; a truncated sequence yields
// U+FFFD and advances to the end.
char32_t next_code_point(std::string_view s, size_t& i);
void utf8_to_utf16le(std::string_view in, bytes& out);
inline bytes utf16le(std::string_view s) {
    bytes b;
    utf8_to_utf16le(s, b);
    return b;
}

} // namespace smbx
