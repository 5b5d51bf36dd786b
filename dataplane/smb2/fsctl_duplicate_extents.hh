// Block cloning (FSCTL_DUPLICATE_EXTENTS_TO_FILE: MS-SMB2 3.3.5.15.17, MS-FSCC 2.3.7 and
// 2.3.8, MS-FSA 2.1.5.10.4): the target's range comes to share the source's blocks,
// with FICLONERANGE where the file system has it (xfs with reflink, btrfs).
#pragma once

#include <cstdint>
#include <optional>

#include "common/byte_codec.hh"
#include "dataplane/smb2/open_handle.hh"

namespace smbx::smb2 {

constexpr uint32_t fsctl_duplicate_extents_to_file = 0x00098344;

// SMB2_DUPLICATE_EXTENTS_DATA (MS-FSCC 2.3.7.2): 40 bytes.
struct duplicate_extents_data {
    file_id source;
    uint64_t source_offset = 0;
    uint64_t target_offset = 0;
    uint64_t byte_count = 0;
};

// nullopt (INVALID_PARAMETER, 3.3.5.15.17) when shorter than 40 bytes, or an offset or
// the count is negative or a range runs past INT64_MAX.
std::optional<duplicate_extents_data> parse_duplicate_extents(byte_span input);

// The NTSTATUS of a FICLONERANGE that failed with `err`: a file system that cannot
// clone answers INVALID_DEVICE_REQUEST (MS-FSA 2.1.5.10.4, MS-FSCC 2.3.8: "The file
// system does not support duplicating extents"); ranges it will not clone (not
// block-aligned, other volume) INVALID_PARAMETER.
uint32_t clone_error_status(int err);

} // namespace smbx::smb2
