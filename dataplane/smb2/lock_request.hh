// The body of an SMB2 LOCK request (MS-SMB2 2.2.26): the FileId and the array of
// SMB2_LOCK_ELEMENTs. A function of its own so that the LOCK handler and the per-command
// fuzz target (tests/fuzz/smb2_command_fuzz.cc) run the same parser.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/byte_codec.hh"
#include "dataplane/vfs/open_handle.hh"

namespace smbx::smb2 {

struct lock_element {
    uint64_t offset;
    uint64_t length;
    uint32_t flags;
};

struct lock_request {
    vfs::file_id id;
    std::vector<lock_element> locks;
};

// `body` starts at StructureSize. nullopt when LockCount is 0 or its elements do not
// all lie in the body (3.3.5.14: STATUS_INVALID_PARAMETER). The count is checked
// against the body before any element is read: a 64-byte request claiming 65,535
// elements costs nothing.
std::optional<lock_request> parse_lock_request(byte_span body);

} // namespace smbx::smb2
