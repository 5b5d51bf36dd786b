#include "dataplane/vfs/sparse_file.hh"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/ntstatus.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/share_path.hh"

namespace smbx::vfs {

namespace {

int fallocate_range(int fd, int mode, uint64_t offset, uint64_t length) {
    int r;
    do {
        r = ::fallocate(fd, mode, off_t(offset), off_t(length));
    } while (r != 0 && errno == EINTR);
    return r == 0 ? 0 : errno;
}

bool unsupported(int err) {
    return err == EOPNOTSUPP || err == ENOSYS;
}

// The last resort of a file system that neither zeroes nor punches ranges: zeroes
// written, 64 KiB at a time.
int write_zeroes(int fd, uint64_t offset, uint64_t length) {
    static const char zeroes[64 * 1024] = {};
    while (length > 0) {
        size_t n = size_t(std::min<uint64_t>(length, sizeof(zeroes)));
        ssize_t w = ::pwrite(fd, zeroes, n, off_t(offset));
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return w < 0 ? errno : EIO;
        }
        offset += uint64_t(w);
        length -= uint64_t(w);
    }
    return 0;
}

} // namespace

bool is_sparse(int fd) {
    auto dos = read_dos_info(fd);
    return dos && (dos->attributes & attr_sparse_file);
}

uint32_t set_sparse(file_open& f, bool sparse) {
    auto fi = f.info();
    if (!fi) {
        return errno_to_status(errno);
    }
    auto old = read_dos_info(f.fd());
    dos_info d = old.value_or(dos_info{fi->attributes & attr_settable, 0, 0, 0});
    bool was = d.attributes & attr_sparse_file;
    if (was == sparse) {
        return status::success;
    }
    d.attributes = sparse ? d.attributes | attr_sparse_file : d.attributes & ~attr_sparse_file;
    if (int err = write_dos_info(f.fd(), d)) {
        return errno_to_status(err);
    }
    if (!sparse && fi->end_of_file > 0) {
        // No longer sparse: its holes become allocated zeroes (best effort; tmpfs and
        // the like may refuse, the data reads the same).
        fallocate_range(f.buffered_fd(), FALLOC_FL_KEEP_SIZE, 0, fi->end_of_file);
    }
    return status::success;
}

uint32_t punch_file_hole(int fd, uint64_t offset, uint64_t length) {
    if (length == 0) {
        return status::success;
    }
    int err = fallocate_range(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
    return unsupported(err) ? status::not_supported : errno_to_status(err);
}

uint32_t zero_file_range(int fd, bool sparse, uint64_t offset, uint64_t length) {
    if (length == 0) {
        return status::success;
    }
    int err;
    if (sparse) {
        err = fallocate_range(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
        if (unsupported(err)) {
            err = write_zeroes(fd, offset, length);
        }
        return errno_to_status(err);
    }
    // Not sparse: the zeroes stay allocated. ZERO_RANGE where the file system has it
    // (ext4, xfs); tmpfs has only PUNCH_HOLE, after which the range is allocated again.
    err = fallocate_range(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset, length);
    if (unsupported(err)) {
        err = fallocate_range(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length);
        if (err == 0) {
            fallocate_range(fd, FALLOC_FL_KEEP_SIZE, offset, length); // best effort
        }
    }
    if (unsupported(err)) {
        err = write_zeroes(fd, offset, length);
    }
    return errno_to_status(err);
}

} // namespace smbx::vfs
