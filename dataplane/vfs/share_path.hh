// SMB names within a share: validation (MS-FSCC 2.1.5, MS-SMB2 3.3.5.9) and safe
// resolution against the share root.
//
// Symlink policy: symbolic links are refused everywhere. Every component is opened
// with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) relative
// to the directory before it, so neither a symlink nor a '..' can lead outside the
// share; a name that meets a symlink gets STATUS_ACCESS_DENIED and QUERY_DIRECTORY
// does not list them.
//
// Case: names are case-preserving and case-insensitive. A component that does not
// exist exactly is looked up by scanning its directory with the simple case folding
// of name_match.hh; the exact name always wins over a case variant.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_codec.hh"
#include "dataplane/vfs/unique_fd.hh"

namespace smbx::vfs {

// A validated name: components in UTF-8 with '..' applied; empty means the share root.
struct smb_name {
    std::vector<std::string> components;
    bool trailing_separator = false; // "dir\": the client names a directory
    // "file:name[:$DATA]" (MS-FSCC 2.1.5.3): the named stream (UTF-8, as sent);
    // empty for the unnamed data stream.
    std::string stream;
    bool data_suffix = false; // "file::$DATA" named the unnamed data stream

    bool is_root() const { return components.empty(); }
    std::string relative() const; // "a/b/c"
};

struct name_parse {
    uint32_t status = 0;
    smb_name name;
};

struct parse_options {
    // CREATE names must not start with '\' (MS-SMB2 3.3.5.9: INVALID_PARAMETER);
    // rename targets (MS-FSCC 2.4.37.2) may, and it is ignored.
    bool allow_leading_separator = false;
};

// Validates a UTF-16LE SMB name and splits it into components.
name_parse parse_smb_name(byte_span utf16le, parse_options opts = {});
// Validates one component (UTF-8): OBJECT_NAME_INVALID for illegal characters,
// '.', DOS device names, or over-long names; SUCCESS otherwise.
uint32_t validate_component(std::string_view name);
bool is_dos_device_name(std::string_view name);

// openat2 beneath `dirfd`, refusing symlinks and magic links. Returns -1 and errno.
int open_beneath(int dirfd, const char* name, int flags, mode_t mode = 0);
// Opens the directory that is the root of a share (O_PATH).
unique_fd open_share_root(const std::string& path);

struct resolved_path {
    uint32_t status = 0;
    unique_fd parent;     // the directory holding the last component (O_PATH)
    std::string leaf;     // on-disk name of the last component; empty for the root
    bool exists = false;  // the last component exists (as `leaf`)
    struct stat st {};    // of the last component, when it exists
    std::string relative; // on-disk path from the root, '/'-separated ("" for the root)
};

// Resolves a validated name against the share root. A missing last component is not
// an error (exists = false); a missing or non-directory intermediate one is
// OBJECT_PATH_NOT_FOUND; a symlink anywhere is ACCESS_DENIED.
resolved_path resolve(int root_fd, const smb_name& name);

// The on-disk name in directory `dirfd` matching `name` exactly or, failing that,
// ignoring case; nullopt when there is none.
std::optional<std::string> lookup_component(int dirfd, const std::string& name);

// Maps an errno from a file operation to an NT status.
uint32_t errno_to_status(int err);

} // namespace smbx::vfs
