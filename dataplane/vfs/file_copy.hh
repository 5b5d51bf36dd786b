// Copying a byte range between two open files inside the kernel, for server-side copy
// (MS-SMB2 3.3.5.15.6): copy_file_range(2), which lets the file system reflink or copy
// in place; splice(2) through a pipe where the file systems refuse copy_file_range
// (EXDEV across some file systems, EOPNOTSUPP, EINVAL). The data never passes through a
// user-space buffer.
#pragma once

#include <cstdint>

namespace smbx::vfs {

struct copy_result {
    uint64_t copied = 0; // bytes copied before the copy stopped
    int error = 0;       // 0, or the errno that stopped it (copied < length without
                         // an error: the source ended)
};

// Copies `length` bytes of `src` at `src_offset` to `dst` at `dst_offset`. When both
// name the same file and the ranges overlap, the result is as if the source range had
// been read whole before any of it was written (memmove; Windows 2012's 1 MiB copy
// buffer gives the same for chunks up to 1 MiB, smbtorture
// smb2.ioctl.copy_chunk_src_is_dest_overlap): the range is staged in a memfd, so
// such a copy takes `length` bytes of memory for its duration.
copy_result copy_file_data(int src, uint64_t src_offset, int dst, uint64_t dst_offset,
                           uint64_t length);

} // namespace smbx::vfs
