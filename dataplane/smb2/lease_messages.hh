// The wire forms of oplocks and leases: the lease create contexts (MS-SMB2 2.2.13.2.8
// and 2.2.13.2.10 requests, 2.2.14.2.10 and 2.2.14.2.11 responses), the break
// notifications the server sends (2.2.23.1, 2.2.23.2), the acknowledgements clients
// send back (2.2.24.1, 2.2.24.2) and their responses (2.2.25.1, 2.2.25.2). Bodies only,
// without the SMB2 header. Parsers of client input return nullopt for a body of the
// wrong size, never read past it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "common/byte_codec.hh"
#include "dataplane/vfs/open_handle.hh"

namespace smbx::smb2 {

using lease_key = std::array<uint8_t, 16>;

// SMB2_LEASE_{READ,HANDLE,WRITE}_CACHING (2.2.13.2.8): what a lease, and here also an
// oplock, lets a client cache.
constexpr uint8_t lease_read_caching = 0x01;
constexpr uint8_t lease_handle_caching = 0x02;
constexpr uint8_t lease_write_caching = 0x04;
// An OplockLevel (2.2.14) as caching: level II reads, exclusive also writes, batch all.
constexpr uint8_t caching_of_oplock(uint8_t level) {
    return level == 0x01   ? lease_read_caching
           : level == 0x08 ? lease_read_caching | lease_write_caching
           : level == 0x09 ? lease_read_caching | lease_write_caching | lease_handle_caching
                           : 0;
}

constexpr uint32_t lease_flag_break_in_progress = 0x02;    // 2.2.14.2.10
constexpr uint32_t lease_flag_parent_lease_key_set = 0x04; // 2.2.13.2.10
constexpr uint32_t lease_break_flag_ack_required = 0x01;   // 2.2.23.2

// SMB2_CREATE_REQUEST_LEASE (32 bytes) or _V2 (52 bytes); the size says which.
struct lease_context {
    uint8_t version = 1;
    lease_key key{};
    uint32_t state = 0; // SMB2_LEASE_{READ,HANDLE,WRITE}_CACHING
    uint32_t flags = 0;
    lease_key parent{}; // v2, with lease_flag_parent_lease_key_set
    uint16_t epoch = 0; // v2
};
constexpr size_t lease_context_v1_size = 32;
constexpr size_t lease_context_v2_size = 52;

std::optional<lease_context> parse_lease_context(byte_span data);
// The create response's lease context of the same version (LeaseDuration 0).
bytes write_lease_context(const lease_context& granted);

// OPLOCK_BREAK with StructureSize 24 is an oplock's, 36 a lease's (3.3.5.22).
struct oplock_break_ack {
    uint8_t level = 0;
    vfs::file_id id;
};
struct lease_break_ack {
    lease_key key{};
    uint32_t state = 0;
};
std::optional<oplock_break_ack> parse_oplock_break_ack(byte_span body);
std::optional<lease_break_ack> parse_lease_break_ack(byte_span body);

// The 24-byte oplock break notification and acknowledgement response (same layout).
bytes write_oplock_break(uint8_t level, const vfs::file_id& id);
// 2.2.23.2: the lease's state now, the state to break to, and NewEpoch (3.x).
bytes write_lease_break_notification(const lease_key& key, uint32_t current, uint32_t next,
                                     uint16_t new_epoch, bool ack_required);
// 2.2.25.2: the state the acknowledgement left.
bytes write_lease_break_response(const lease_key& key, uint32_t state);

} // namespace smbx::smb2
