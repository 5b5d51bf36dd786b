// Changes SET_INFO makes to an open file (MS-SMB2 3.3.5.21.1, MS-FSA 2.1.5.14):
// timestamps and attributes, rename within the share, delete disposition, end of file
// and allocation size. The caller has checked the granted access.
#pragma once

#include <cstdint>
#include <optional>

#include "dataplane/vfs/file_open.hh"
#include "dataplane/vfs/share_path.hh"

namespace smbx::vfs {

// FileBasicInformation: a time of 0 (or -1, -2) leaves it unchanged; attributes 0
// leave them unchanged. ChangeTime cannot be set on Linux and is ignored.
struct basic_change {
    int64_t creation_time = 0;
    int64_t last_access_time = 0;
    int64_t last_write_time = 0;
    int64_t change_time = 0;
    uint32_t attributes = 0;
};
uint32_t set_basic(file_open& f, const basic_change& c);

// FileRenameInformation: moves the open file to `target` (validated, share-relative).
// Open handles, this one included, keep working.
uint32_t rename_open(file_open& f, const smb_name& target, bool replace_if_exists);

// FileRenameInformation with a ":stream[:$DATA]" target (MS-FSA 2.1.5.14.11.1):
// renames the open stream within its file; "::$DATA" moves it into the (empty)
// unnamed data stream. An existing target is replaced only when asked and empty.
uint32_t rename_stream(file_open& f, byte_span target_utf16, bool replace_if_exists);

// FileDispositionInformation(Ex): marks the file delete pending (or clears it).
// CANNOT_DELETE for a read-only file unless ignore_readonly; DIRECTORY_NOT_EMPTY for a
// directory with entries.
uint32_t set_disposition(file_open& f, bool delete_pending, bool ignore_readonly = false,
                         bool on_close = false);

uint32_t set_end_of_file(file_open& f, uint64_t size);
uint32_t set_allocation_size(file_open& f, uint64_t size);

} // namespace smbx::vfs
