#include "dataplane/smb2/create_caching.hh"

namespace smbx::smb2 {

namespace {

bool known_oplock_level(uint8_t l) {
    return l == 0x00 || l == 0x01 || l == 0x08 || l == 0x09; // 2.2.13 RequestedOplockLevel
}

constexpr uint32_t lease_state_bits = 0x07; // R, H, W (2.2.13.2.8 LeaseState)

} // namespace

std::optional<caching_request> read_caching_request(const connection& conn, uint8_t requested,
                                                    std::optional<byte_span> rqls) {
    caching_request c;
    if (requested != oplock_level_lease) {
        c.oplock = known_oplock_level(requested) ? requested : 0;
        return c;
    }
    // Only where the server offered SMB2_GLOBAL_CAP_LEASING (2.1 and later, `smb2 leases`).
    if (!rqls || !(conn.server_capabilities & cap_leasing)) {
        return c;
    }
    auto lease = parse_lease_context(*rqls);
    if (!lease) {
        return std::nullopt;
    }
    if (!conn.is_smb3() && lease->version == 2) {
        lease->version = 1; // 3.3.5.9.8: a 2.1 server knows only the v1 fields
        lease->flags = 0;
        lease->epoch = 0;
    }
    c.oplock = oplock_level_lease;
    c.lease = *lease;
    return c;
}

ipc::lease_open_request arbiter_request(const connection& conn, const caching_request& c,
                                        uint64_t open_ref, std::string file, bool overwrite) {
    ipc::lease_open_request r;
    r.open = open_ref;
    r.file = std::move(file);
    r.overwrite = overwrite;
    if (c.lease) {
        r.has_lease = true;
        r.client = conn.client_guid;
        r.lease_key = c.lease->key;
        r.lease_version = c.lease->version;
        r.epoch = c.lease->epoch;
        r.requested = uint8_t(c.lease->state & lease_state_bits);
    } else {
        r.oplock = c.oplock;
    }
    return r;
}

caching_grant grant_of(const caching_request& c, const ipc::lease_open_reply& reply) {
    caching_grant g;
    if (!c.lease) {
        g.oplock_level = c.oplock ? reply.oplock : 0;
        g.caching = caching_of_oplock(g.oplock_level);
        return g;
    }
    g.caching = reply.granted;
    g.oplock_level = oplock_level_lease;
    lease_context out = *c.lease;
    out.state = reply.granted;
    out.flags = reply.break_in_progress ? lease_flag_break_in_progress : 0;
    if (out.version >= 2) {
        // 2.2.14.2.11: the parent key is echoed when the request set it.
        out.flags |= c.lease->flags & lease_flag_parent_lease_key_set;
        if (!(c.lease->flags & lease_flag_parent_lease_key_set)) {
            out.parent = {};
        }
        out.epoch = reply.epoch;
    }
    g.lease_context = write_lease_context(out);
    return g;
}

} // namespace smbx::smb2
