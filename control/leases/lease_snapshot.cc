// lease_arbiter::snapshot and restore: the arbiter's owners in a flat byte form, for a
// SIGHUP re-exec of smbx-control. The files and opens indexes are rebuilt from the
// owners. Layout: magic, owner count, then per owner its key, file, flags, states,
// epoch, milliseconds left to its deadline, and its opens.
#include <algorithm>

#include "control/leases/lease_arbiter.hh"

namespace smbx::leases {

namespace {

constexpr uint32_t snapshot_magic = 0x31534c53; // "SLS1"

void put_guid(byte_writer& w, const guid& g) {
    w.put(byte_span(g.data(), g.size()));
}

guid read_guid(byte_reader& r) {
    guid g{};
    r.copy_to(g.data(), g.size());
    return g;
}

} // namespace

bytes lease_arbiter::snapshot(clock::time_point now) const {
    byte_writer w;
    w.u32(snapshot_magic);
    w.u32(uint32_t(_owners.size()));
    for (const auto& [key, o] : _owners) {
        put_guid(w, key.client);
        put_guid(w, key.lease_key);
        w.u64(key.open);
        w.u32(uint32_t(o.file.size()));
        w.put(o.file.data(), o.file.size());
        w.u8(o.lease);
        w.u8(o.version);
        w.u8(o.state);
        w.u8(o.break_to);
        w.u8(o.breaking);
        w.u8(o.then_to.has_value());
        w.u8(o.then_to.value_or(0));
        w.u16(o.epoch);
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(o.deadline - now);
        w.u64(uint64_t(std::max<int64_t>(0, left.count())));
        w.u32(uint32_t(o.opens.size()));
        for (open_ref r : o.opens) {
            w.u64(r);
        }
    }
    return w.take();
}

std::optional<lease_arbiter> lease_arbiter::restore(byte_span data, clock::duration break_timeout,
                                                    clock::time_point now) {
    lease_arbiter a(break_timeout);
    byte_reader r(data);
    if (r.u32() != snapshot_magic) {
        return std::nullopt;
    }
    uint32_t count = r.u32();
    for (uint32_t i = 0; i < count && r.ok(); ++i) {
        owner_key key;
        key.client = read_guid(r);
        key.lease_key = read_guid(r);
        key.open = r.u64();
        owner_state o;
        uint32_t file_length = r.u32();
        auto file = r.take(std::min<size_t>(file_length, r.remaining() + 1));
        o.file.assign(file.begin(), file.end());
        o.lease = r.u8();
        o.version = r.u8();
        o.state = r.u8();
        o.break_to = r.u8();
        o.breaking = r.u8();
        bool has_then = r.u8();
        uint8_t then_to = r.u8();
        if (has_then) {
            o.then_to = then_to;
        }
        o.epoch = r.u16();
        o.deadline = now + std::chrono::milliseconds(std::min<uint64_t>(r.u64(), 1ull << 40));
        uint32_t opens = r.u32();
        if (opens > r.remaining() / 8 || a._owners.count(key) || o.lease != key.is_lease()) {
            return std::nullopt;
        }
        for (uint32_t k = 0; k < opens; ++k) {
            open_ref ref = r.u64();
            if (!a._opens.emplace(ref, key).second) {
                return std::nullopt; // an open of two owners
            }
            o.opens.insert(ref);
        }
        a._files[o.file].insert(key);
        a._owners.emplace(key, std::move(o));
    }
    if (!r.ok() || r.remaining() != 0) {
        return std::nullopt;
    }
    return a;
}

} // namespace smbx::leases
