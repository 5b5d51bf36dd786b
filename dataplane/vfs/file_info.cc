#include "dataplane/vfs/file_info.hh"

#include <fcntl.h>
#include <sys/xattr.h>

#include <cerrno>
#include <string>

#include "dataplane/vfs/access.hh"

namespace smbx::vfs {

namespace {

constexpr const char* dos_xattr = "user.smbx.dosinfo";
constexpr uint64_t filetime_unix_epoch = 116444736000000000ULL; // 1970-01-01 in FILETIME

std::string proc_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

// fgetxattr() refuses O_PATH descriptors; reach the same inode through /proc then.
ssize_t get_xattr(int fd, void* buf, size_t size) {
    ssize_t n = ::fgetxattr(fd, dos_xattr, buf, size);
    if (n < 0 && errno == EBADF) {
        n = ::getxattr(proc_path(fd).c_str(), dos_xattr, buf, size);
    }
    return n;
}

constexpr size_t dos_size = 28;

uint64_t get_le(const uint8_t* b, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) {
        v |= uint64_t(b[i]) << (8 * i);
    }
    return v;
}

void put_le(uint8_t* b, uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
        b[i] = uint8_t(v >> (8 * i));
    }
}

std::optional<dos_info> decode(const uint8_t* b, ssize_t n) {
    if (n != ssize_t(dos_size)) {
        return std::nullopt;
    }
    dos_info d;
    d.attributes = uint32_t(get_le(b, 4));
    d.creation_time = get_le(b + 4, 8);
    d.change_time = get_le(b + 12, 8);
    d.change_mtime = get_le(b + 20, 8);
    return d;
}

uint64_t statx_filetime(const struct statx_timestamp& t) {
    struct timespec ts {
        t.tv_sec, long(t.tv_nsec)
    };
    return to_filetime(ts);
}

file_info from_statx(const struct statx& sx, std::optional<dos_info> dos) {
    file_info fi;
    fi.directory = S_ISDIR(sx.stx_mode);
    fi.mode = sx.stx_mode;
    fi.last_access_time = statx_filetime(sx.stx_atime);
    fi.last_write_time = statx_filetime(sx.stx_mtime);
    fi.change_time = statx_filetime(sx.stx_ctime);
    if (dos && dos->change_time && dos->change_mtime == fi.last_write_time) {
        fi.change_time = dos->change_time;
    }
    if (dos && dos->creation_time) {
        fi.creation_time = dos->creation_time;
    } else if (sx.stx_mask & STATX_BTIME) {
        fi.creation_time = statx_filetime(sx.stx_btime);
    } else {
        fi.creation_time = std::min(fi.last_write_time, fi.change_time);
    }
    if (!fi.directory) {
        fi.end_of_file = sx.stx_size;
        fi.allocation_size = sx.stx_blocks * 512;
    }
    fi.number_of_links = sx.stx_nlink;
    fi.index_number = sx.stx_ino;
    fi.device = (uint64_t(sx.stx_dev_major) << 32) | sx.stx_dev_minor;
    uint32_t stored;
    if (dos) {
        stored = dos->attributes;
    } else {
        stored = fi.directory ? 0 : attr_archive;
        if (!fi.directory && !(sx.stx_mode & 0222)) {
            stored |= attr_readonly;
        }
    }
    fi.attributes = effective_attributes(stored, fi.directory);
    return fi;
}

constexpr unsigned statx_mask = STATX_BASIC_STATS | STATX_BTIME;

} // namespace

uint64_t to_filetime(const struct timespec& ts) {
    if (ts.tv_sec < -int64_t(filetime_unix_epoch / 10000000)) {
        return 0;
    }
    return uint64_t(int64_t(ts.tv_sec) * 10000000 + ts.tv_nsec / 100 +
                    int64_t(filetime_unix_epoch));
}

struct timespec from_filetime(uint64_t ft) {
    int64_t t = int64_t(ft) - int64_t(filetime_unix_epoch);
    struct timespec ts;
    ts.tv_sec = t / 10000000;
    ts.tv_nsec = long((t % 10000000) * 100);
    if (ts.tv_nsec < 0) {
        ts.tv_sec -= 1;
        ts.tv_nsec += 1000000000;
    }
    return ts;
}

std::optional<dos_info> read_dos_info(int fd) {
    uint8_t b[dos_size + 1];
    return decode(b, get_xattr(fd, b, sizeof(b)));
}

int write_dos_info(int fd, const dos_info& info) {
    uint8_t b[dos_size];
    put_le(b, info.attributes, 4);
    put_le(b + 4, info.creation_time, 8);
    put_le(b + 12, info.change_time, 8);
    put_le(b + 20, info.change_mtime, 8);
    int r = ::fsetxattr(fd, dos_xattr, b, sizeof(b), 0);
    if (r < 0 && errno == EBADF) {
        r = ::setxattr(proc_path(fd).c_str(), dos_xattr, b, sizeof(b), 0);
    }
    return r < 0 ? errno : 0;
}

std::optional<file_info> query_file_info(int fd) {
    struct statx sx;
    if (::statx(fd, "", AT_EMPTY_PATH, statx_mask, &sx) != 0) {
        return std::nullopt;
    }
    return from_statx(sx, read_dos_info(fd));
}

std::optional<file_info> query_file_info_at(int dirfd, const char* name) {
    struct statx sx;
    if (::statx(dirfd, name, AT_SYMLINK_NOFOLLOW, statx_mask, &sx) != 0) {
        return std::nullopt;
    }
    std::optional<dos_info> dos;
    if (!S_ISLNK(sx.stx_mode)) {
        uint8_t b[dos_size + 1];
        auto path = proc_path(dirfd) + "/" + name;
        dos = decode(b, ::lgetxattr(path.c_str(), dos_xattr, b, sizeof(b)));
    }
    return from_statx(sx, dos);
}

uint32_t effective_attributes(uint32_t stored, bool directory) {
    // SPARSE_FILE is stored only by FSCTL_SET_SPARSE (sparse_file.hh), never by SET_INFO.
    uint32_t a = stored & (attr_settable | attr_sparse_file);
    if (directory) {
        a |= attr_directory;
    }
    return a ? a : attr_normal;
}

} // namespace smbx::vfs
