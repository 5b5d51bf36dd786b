// The file-system half of SMB2 CREATE (MS-SMB2 3.3.5.9, MS-FSA 2.1.5.1): checks the
// parameters, resolves the name beneath the share root, applies the create
// disposition, computes the granted and maximal access, enforces share modes, and
// stores the initial DOS attributes. create.cc does the wire side.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "dataplane/vfs/access_check.hh"
#include "dataplane/vfs/file_open.hh"
#include "dataplane/vfs/share_path.hh"

namespace smbx::vfs {

// CreateDisposition (MS-SMB2 2.2.13)
constexpr uint32_t file_supersede = 0;
constexpr uint32_t file_open_disposition = 1;
constexpr uint32_t file_create = 2;
constexpr uint32_t file_open_if = 3;
constexpr uint32_t file_overwrite = 4;
constexpr uint32_t file_overwrite_if = 5;

// CreateAction (MS-SMB2 2.2.14)
constexpr uint32_t file_superseded = 0;
constexpr uint32_t file_opened = 1;
constexpr uint32_t file_created = 2;
constexpr uint32_t file_overwritten = 3;

struct create_params {
    uint32_t desired_access = 0;
    uint32_t file_attributes = 0;
    uint32_t share_access = 0;
    uint32_t disposition = file_open_disposition;
    uint32_t options = 0;
    uint64_t allocation_size = 0; // from the AlSi create context; 0: none
    // Who opens (nullptr: a plain authenticated user) and the descriptor of the SecD
    // create context (2.2.13.2.2), if any: access is checked against the file's DACL
    // and a new file gets `security` or inherits from its parent (access_check.hh).
    const access_token* token = nullptr;
    const security_descriptor* security = nullptr;
    bool direct_io = false; // the share's `direct io`: file data with O_DIRECT
    // Leave an overwrite (FILE_SUPERSEDE, FILE_OVERWRITE[_IF] of an existing file) to
    // finish_overwrite(): the caller breaks other clients' caching first (MS-FSA
    // 2.1.5.1.2.1 checks oplocks after the share mode and before the overwrite).
    bool defer_overwrite = false;
};

struct create_outcome {
    uint32_t status = 0;
    std::shared_ptr<file_open> open;
    uint32_t action = file_opened;
    uint32_t maximal_access = 0;
    // An overwrite the caller still has to finish (create_params::defer_overwrite);
    // `action` says file_opened until finish_overwrite() ran.
    bool overwrite_pending = false;
    // With STATUS_SHARING_VIOLATION: the file whose other opens refused this one, so
    // that the caller can break their handle caching and try again (MS-FSA 2.1.5.1.2.1).
    std::optional<file_key> sharing_conflict;
};

// Access the share and the file allow at most (MS-SMB2 3.3.5.9 MAXIMUM_ALLOWED).
uint32_t maximal_access(bool read_only_share, bool directory, uint32_t attributes);

create_outcome create_file(const std::string& share_root, bool read_only_share,
                           const smb_name& name, const create_params& p);
// Truncates the file, drops its named streams and sets its attributes, as an overwrite
// does (MS-FSA 2.1.5.1.2.1), if `out` has one pending; sets out.action.
uint32_t finish_overwrite(file_open& open, const create_params& p, create_outcome& out);

} // namespace smbx::vfs
