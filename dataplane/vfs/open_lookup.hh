// An open as a file (not a named pipe), and a FileId off the wire. Finding the open a
// request names is the SMB2 engine's (smb2/open_lookup.hh).
#pragma once

#include <memory>

#include "common/byte_codec.hh"
#include "dataplane/vfs/file_open.hh"
#include "dataplane/vfs/open_handle.hh"

namespace smbx::vfs {

// A virtual is_file() and a static cast: no RTTI walk on every READ and WRITE.
inline std::shared_ptr<file_open> as_file_open(const std::shared_ptr<open_handle>& h) {
    return h && h->is_file() ? std::static_pointer_cast<file_open>(h) : nullptr;
}

inline file_id read_file_id(byte_reader& r) {
    file_id id;
    id.persistent = r.u64();
    id.volatile_id = r.u64();
    return id;
}

} // namespace smbx::vfs
