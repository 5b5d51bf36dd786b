// The SMB2 engine's names for an open and its FileId: they live in vfs/open_handle.hh,
// below the engine, which files (vfs) and named pipes (rpc) derive from.
#pragma once

#include "dataplane/vfs/open_handle.hh"

namespace smbx::smb2 {

using vfs::file_id;
using vfs::open_handle;

} // namespace smbx::smb2
