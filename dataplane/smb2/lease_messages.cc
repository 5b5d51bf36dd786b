#include "dataplane/smb2/lease_messages.hh"

namespace smbx::smb2 {

namespace {

void put_key(byte_writer& w, const lease_key& k) {
    w.put(byte_span(k.data(), k.size()));
}

lease_key read_key(byte_reader& r) {
    lease_key k{};
    r.copy_to(k.data(), k.size());
    return k;
}

} // namespace

std::optional<lease_context> parse_lease_context(byte_span data) {
    if (data.size() != lease_context_v1_size && data.size() != lease_context_v2_size) {
        return std::nullopt;
    }
    byte_reader r(data);
    lease_context c;
    c.key = read_key(r);
    c.state = r.u32();
    c.flags = r.u32();
    r.u64(); // LeaseDuration: reserved
    if (data.size() == lease_context_v2_size) {
        c.version = 2;
        c.parent = read_key(r);
        c.epoch = r.u16();
        r.u16(); // Reserved
    }
    if (!r.ok()) {
        return std::nullopt;
    }
    return c;
}

bytes write_lease_context(const lease_context& granted) {
    byte_writer w;
    put_key(w, granted.key);
    w.u32(granted.state);
    w.u32(granted.flags);
    w.u64(0); // LeaseDuration
    if (granted.version >= 2) {
        put_key(w, granted.parent);
        w.u16(granted.epoch);
        w.u16(0);
    }
    return w.take();
}

std::optional<oplock_break_ack> parse_oplock_break_ack(byte_span body) {
    byte_reader r(body);
    if (r.u16() != 24 || body.size() < 24) {
        return std::nullopt;
    }
    oplock_break_ack a;
    a.level = r.u8();
    r.u8();  // Reserved
    r.u32(); // Reserved2
    a.id.persistent = r.u64();
    a.id.volatile_id = r.u64();
    if (!r.ok()) {
        return std::nullopt;
    }
    return a;
}

std::optional<lease_break_ack> parse_lease_break_ack(byte_span body) {
    byte_reader r(body);
    if (r.u16() != 36 || body.size() < 36) {
        return std::nullopt;
    }
    r.u16(); // Reserved
    r.u32(); // Flags: reserved
    lease_break_ack a;
    a.key = read_key(r);
    a.state = r.u32();
    r.u64(); // LeaseDuration: reserved
    if (!r.ok()) {
        return std::nullopt;
    }
    return a;
}

bytes write_oplock_break(uint8_t level, const vfs::file_id& id) {
    byte_writer w;
    w.u16(24);
    w.u8(level);
    w.u8(0);
    w.u32(0);
    w.u64(id.persistent);
    w.u64(id.volatile_id);
    return w.take();
}

bytes write_lease_break_notification(const lease_key& key, uint32_t current, uint32_t next,
                                     uint16_t new_epoch, bool ack_required) {
    byte_writer w;
    w.u16(44);
    w.u16(new_epoch);
    w.u32(ack_required ? lease_break_flag_ack_required : 0);
    put_key(w, key);
    w.u32(current);
    w.u32(next);
    w.u32(0); // BreakReason
    w.u32(0); // AccessMaskHint
    w.u32(0); // ShareMaskHint
    return w.take();
}

bytes write_lease_break_response(const lease_key& key, uint32_t state) {
    byte_writer w;
    w.u16(36);
    w.u16(0);
    w.u32(0); // Flags
    put_key(w, key);
    w.u32(state);
    w.u64(0); // LeaseDuration
    return w.take();
}

} // namespace smbx::smb2
