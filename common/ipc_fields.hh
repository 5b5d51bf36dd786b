// The codec of control-ring messages whose body is a fixed list of plain fields: the
// message type lists them once (`fields(self, f)` calls f on each, in wire order), and
// one encoder and one decoder serve every such type. The header is ipc_messages.hh's
// (u16 type, u16 reserved, u32 reserved, u64 id); integers are little endian, a bool
// one byte, a string u32 length + UTF-8, a GUID its 16 bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/byte_codec.hh"
#include "common/ipc_messages.hh"

namespace smbx::ipc {

namespace field_codec {

inline void put(byte_writer& w, uint8_t v) {
    w.u8(v);
}
inline void put(byte_writer& w, uint16_t v) {
    w.u16(v);
}
inline void put(byte_writer& w, uint32_t v) {
    w.u32(v);
}
inline void put(byte_writer& w, uint64_t v) {
    w.u64(v);
}
inline void put(byte_writer& w, bool v) {
    w.u8(v ? 1 : 0);
}
inline void put(byte_writer& w, const std::string& s) {
    w.u32(uint32_t(s.size()));
    w.put(s.data(), s.size());
}
template <size_t N> void put(byte_writer& w, const std::array<uint8_t, N>& a) {
    w.put(byte_span(a.data(), N));
}

inline void get(byte_reader& r, uint8_t& v) {
    v = r.u8();
}
inline void get(byte_reader& r, uint16_t& v) {
    v = r.u16();
}
inline void get(byte_reader& r, uint32_t& v) {
    v = r.u32();
}
inline void get(byte_reader& r, uint64_t& v) {
    v = r.u64();
}
inline void get(byte_reader& r, bool& v) {
    v = r.u8() != 0;
}
inline void get(byte_reader& r, std::string& s) {
    auto b = r.take(r.u32());
    s.assign(b.begin(), b.end());
}
template <size_t N> void get(byte_reader& r, std::array<uint8_t, N>& a) {
    r.copy_to(a.data(), N);
}

} // namespace field_codec

template <typename M> bytes encode_fields(uint64_t id, const M& m) {
    byte_writer w;
    w.u16(static_cast<uint16_t>(M::type));
    w.u16(0);
    w.u32(0);
    w.u64(id);
    M::fields(m, [&](const auto& f) { field_codec::put(w, f); });
    return w.take();
}

// The message if it is an M and decodes exactly; nullopt otherwise.
template <typename M> std::optional<M> decode_fields(byte_span message) {
    auto h = decode_header(message);
    if (!h || h->type != M::type) {
        return std::nullopt;
    }
    byte_reader r(message.subspan(16));
    M m;
    M::fields(m, [&](auto& f) { field_codec::get(r, f); });
    if (!r.ok() || r.remaining() != 0) {
        return std::nullopt;
    }
    return m;
}

} // namespace smbx::ipc
