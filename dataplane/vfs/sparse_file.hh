// Sparse files and zeroing (MS-FSA 2.1.5.10: FSCTL_SET_SPARSE, FSCTL_SET_ZERO_DATA,
// FSCTL_FILE_LEVEL_TRIM). The sparse attribute is a DOS
// attribute like the others (user.smbx.dosinfo, file_info.hh): a file is reported
// sparse only after a client made it so, whatever holes Linux keeps in it (Hyper-V
// refuses a VHDX that comes back sparse). Holes themselves are the file system's
// (fallocate PUNCH_HOLE), found with SEEK_DATA/SEEK_HOLE.
#pragma once

#include <cstdint>

#include "dataplane/vfs/file_open.hh"

namespace smbx::vfs {

// Whether a client marked the file sparse.
bool is_sparse(int fd);

// Sets or clears the sparse attribute: SUCCESS or an NTSTATUS. Clearing it allocates
// the file's holes (MS-FSA FSCTL_SET_SPARSE: a file that is no longer sparse has no holes), best
// effort where the file system cannot.
uint32_t set_sparse(file_open& f, bool sparse);

// Zeroes [offset, offset + length) of a regular file without changing its size: a hole
// punched in a sparse file; in another, zeroes that stay allocated (ZERO_RANGE, or a
// punched hole allocated again, or zeroes written where the file system has neither).
uint32_t zero_file_range(int fd, bool sparse, uint64_t offset, uint64_t length);

// Deallocates [offset, offset + length) (PUNCH_HOLE, size kept): the range reads as
// zeroes. SUCCESS, or NOT_SUPPORTED where the file system cannot punch holes.
uint32_t punch_file_hole(int fd, uint64_t offset, uint64_t length);

} // namespace smbx::vfs
