// The named-stream half of create_file (MS-FSA 2.1.5.1.2, streams.hh for the
// storage): opens or creates "file:stream", creating the base file first when the
// disposition allows, with share modes kept per stream.
#pragma once

#include <string>

#include "dataplane/vfs/create_file.hh"
#include "dataplane/vfs/share_path.hh"

namespace smbx::vfs {

// `base` is the resolved base name (checked parameters, no symlinks).
create_outcome create_stream(const std::string& share_root, bool read_only_share,
                             const smb_name& name, const create_params& p, resolved_path& base);

} // namespace smbx::vfs
