// NDR 2.0 transfer syntax (C706 chapter 14, MS-RPCE 2.2.5): little-endian, ASCII,
// IEEE only (the only data representation we accept at bind time). Alignment is
// relative to the start of the stub data, which C706 12.6.4.9 puts at an 8-byte
// boundary of the PDU.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/byte_codec.hh"

namespace smbx::ndr {

// Referent ids are opaque; this is the first one MIDL-generated stubs use.
constexpr uint32_t first_referent_id = 0x00020000;

class writer {
public:
    using deferred_fn = std::function<void(writer&)>;

    void align(size_t a) { _w.align(a); }
    void u8(uint8_t v) { _w.u8(v); }
    void u16(uint16_t v) {
        align(2);
        _w.u16(v);
    }
    void u32(uint32_t v) {
        align(4);
        _w.u32(v);
    }
    void u64(uint64_t v) {
        align(8);
        _w.u64(v);
    }
    void put(byte_span s) { _w.put(s); }

    // Embedded unique pointer (C706 14.3.12.3): a non-zero referent id now, the
    // pointee later (see flush_deferred); a null pointer is a zero id and no data.
    void unique_ptr(bool present, deferred_fn pointee);
    // Full pointer (C706 14.3.12.2): the same `key` always maps to the same referent
    // id, and its pointee is sent only the first time.
    void full_ptr(const void* key, deferred_fn pointee);

    // Pointees deferred so far, depth first: each pointee's own embedded pointers are
    // written right after that pointee (C706 14.3.12.3, the order MIDL and Samba use).
    void flush_deferred();

    // A unique pointer to a [string] wchar_t* (the usual LPWSTR member). nullopt is a
    // null pointer.
    void unique_wstring(std::optional<std::string> s);
    // Conformant varying string of UTF-16 (C706 14.3.4.2 / MS-RPCE 2.2.5.2.1): max
    // count, offset 0, actual count, the characters including the terminating NUL.
    void wstring(std::string_view utf8);

    size_t size() const { return _w.size(); }
    bytes take() { return _w.take(); }

private:
    uint32_t next_referent() {
        uint32_t id = _next_referent;
        _next_referent += 4;
        return id;
    }

    byte_writer _w;
    uint32_t _next_referent = first_referent_id;
    std::vector<deferred_fn> _deferred;
    std::unordered_map<const void*, uint32_t> _full_ids;
};

class reader {
public:
    explicit reader(byte_span stub) : _r(stub) {}
    // The reader keeps a view: a temporary buffer would dangle.
    explicit reader(bytes&&) = delete;

    bool ok() const { return _r.ok(); }
    void fail() { _r.fail(); }
    size_t remaining() const { return _r.remaining(); }

    void align(size_t a) {
        size_t pad = (a - _r.position() % a) % a;
        _r.skip(pad);
    }
    uint8_t u8() { return _r.u8(); }
    uint16_t u16() {
        align(2);
        return _r.u16();
    }
    uint32_t u32() {
        align(4);
        return _r.u32();
    }
    uint64_t u64() {
        align(8);
        return _r.u64();
    }
    // A pointer's referent id (0 = null).
    uint32_t pointer() { return u32(); }

    // A conformant varying UTF-16 string; checks offset == 0, actual <= max and that
    // the characters are present. The terminating NUL, if sent, is dropped. nullopt
    // (and failure) on malformed input.
    std::optional<std::string> wstring();
    // A unique pointer to a [string] wchar_t*: nullopt when null (ok() tells apart
    // null from malformed).
    std::optional<std::string> unique_wstring();

private:
    byte_reader _r;
};

} // namespace smbx::ndr
