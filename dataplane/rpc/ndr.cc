#include "dataplane/rpc/ndr.hh"

namespace smbx::ndr {

void writer::unique_ptr(bool present, deferred_fn pointee) {
    if (!present) {
        u32(0);
        return;
    }
    u32(next_referent());
    _deferred.push_back(std::move(pointee));
}

void writer::full_ptr(const void* key, deferred_fn pointee) {
    if (key == nullptr) {
        u32(0);
        return;
    }
    auto it = _full_ids.find(key);
    if (it != _full_ids.end()) {
        u32(it->second);
        return;
    }
    uint32_t id = next_referent();
    _full_ids.emplace(key, id);
    u32(id);
    _deferred.push_back(std::move(pointee));
}

void writer::flush_deferred() {
    // Nesting depth is that of our own reply structures (a handful), not of input.
    auto pending = std::move(_deferred);
    _deferred.clear();
    for (auto& fn : pending) {
        fn(*this);
        flush_deferred();
    }
}

void writer::unique_wstring(std::optional<std::string> s) {
    bool present = s.has_value();
    unique_ptr(present, [str = std::move(s)](writer& w) { w.wstring(str.value_or("")); });
}

void writer::wstring(std::string_view utf8) {
    bytes chars = utf16le(utf8);
    chars.push_back(0);
    chars.push_back(0);
    uint32_t count = static_cast<uint32_t>(chars.size() / 2);
    u32(count); // maximum count
    u32(0);     // offset
    u32(count); // actual count
    put(chars);
}

std::optional<std::string> reader::wstring() {
    uint32_t max_count = u32();
    uint32_t offset = u32();
    uint32_t actual = u32();
    if (!ok() || offset != 0 || actual > max_count || actual > remaining() / 2) {
        fail();
        return std::nullopt;
    }
    auto chars = _r.take(size_t(actual) * 2);
    if (actual > 0 && chars[chars.size() - 2] == 0 && chars[chars.size() - 1] == 0) {
        chars = chars.first(chars.size() - 2);
    }
    std::string out;
    if (!utf16le_to_utf8(chars, out)) {
        fail();
        return std::nullopt;
    }
    return out;
}

std::optional<std::string> reader::unique_wstring() {
    if (pointer() == 0) {
        return std::nullopt;
    }
    return wstring();
}

} // namespace smbx::ndr
