// Turns Linux file metadata into the fields MS-FSCC information classes carry:
// FILETIME timestamps, sizes, DOS attributes, file ids.
//
// DOS attributes and client-set times live in the xattr user.smbx.dosinfo (u32
// attributes, u64 creation FILETIME, u64 change FILETIME, u64 the mtime at which the
// change time was set; little-endian), not Samba's NDR user.DOSATTRIB. Linux cannot set
// a ctime, so a client-set ChangeTime is reported until the file's data changes. Without the xattr
// a file is ARCHIVE (READONLY when no write bits are set) and a directory is DIRECTORY. Creation
// time is the xattr's, else statx btime, else the older of mtime and ctime.
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <cstdint>
#include <optional>

namespace smbx::vfs {

struct file_info {
    uint64_t creation_time = 0; // FILETIME: 100 ns units since 1601-01-01 UTC
    uint64_t last_access_time = 0;
    uint64_t last_write_time = 0;
    uint64_t change_time = 0;
    uint64_t allocation_size = 0;
    uint64_t end_of_file = 0;
    uint32_t attributes = 0;
    uint32_t number_of_links = 1;
    uint64_t index_number = 0; // inode
    uint64_t device = 0;
    uint32_t mode = 0; // st_mode
    bool directory = false;
};

uint64_t to_filetime(const struct timespec& ts);
struct timespec from_filetime(uint64_t ft);

struct dos_info {
    uint32_t attributes = 0;
    uint64_t creation_time = 0; // 0: not set by a client
    uint64_t change_time = 0;   // 0: not set by a client
    uint64_t change_mtime = 0;  // last_write_time when change_time was set
};
// Reads the stored DOS info of an open file; nullopt when none is stored.
std::optional<dos_info> read_dos_info(int fd);
// Stores DOS info; returns 0 or an errno (ENOTSUP when the file system has no xattrs).
int write_dos_info(int fd, const dos_info& info);

// Metadata of an open file or directory (any fd, O_PATH included); nullopt and errno
// on failure.
std::optional<file_info> query_file_info(int fd);
// The same for a name in a directory, without following symlinks.
std::optional<file_info> query_file_info_at(int dirfd, const char* name);

// Attributes to report: stored ones (SPARSE_FILE included) with DIRECTORY derived from
// the type and NORMAL only when nothing else is set (MS-FSCC 2.6).
uint32_t effective_attributes(uint32_t stored, bool directory);

} // namespace smbx::vfs
