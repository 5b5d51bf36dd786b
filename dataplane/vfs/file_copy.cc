#include "dataplane/vfs/file_copy.hh"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "dataplane/vfs/unique_fd.hh"

namespace smbx::vfs {

namespace {

// What one splice step moves at most: a pipe's default 64 KiB grown to 1 MiB where the
// pipe allows it (fewer system calls per chunk).
constexpr size_t splice_step = 1 << 20;

// Errors after which splice may still work: the file systems cannot copy_file_range
// between each other (EXDEV), or not at all.
bool copy_range_unsupported(int err) {
    return err == EXDEV || err == EOPNOTSUPP || err == ENOSYS || err == EINVAL;
}

copy_result splice_copy(int src, loff_t src_off, int dst, loff_t dst_off, uint64_t length) {
    copy_result r;
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
        r.error = errno;
        return r;
    }
    unique_fd rd(p[0]);
    unique_fd wr(p[1]);
    ::fcntl(wr.get(), F_SETPIPE_SZ, int(splice_step)); // best effort
    while (r.copied < length) {
        size_t want = size_t(std::min<uint64_t>(length - r.copied, splice_step));
        ssize_t in = ::splice(src, &src_off, wr.get(), nullptr, want, SPLICE_F_MOVE);
        if (in < 0 && errno == EINTR) {
            continue;
        }
        if (in <= 0) {
            r.error = in < 0 ? errno : 0;
            return r;
        }
        while (in > 0) {
            ssize_t out = ::splice(rd.get(), nullptr, dst, &dst_off, size_t(in), SPLICE_F_MOVE);
            if (out < 0 && errno == EINTR) {
                continue;
            }
            if (out <= 0) {
                // The bytes still in the pipe are lost with it: what reached dst counts.
                r.error = out < 0 ? errno : EIO;
                return r;
            }
            in -= out;
            r.copied += uint64_t(out);
        }
    }
    return r;
}

// One copy of ranges that do not overlap.
copy_result copy_disjoint(int src, uint64_t src_offset, int dst, uint64_t dst_offset,
                          uint64_t length) {
    copy_result r;
    loff_t so = loff_t(src_offset);
    loff_t d = loff_t(dst_offset);
    while (r.copied < length) {
        ssize_t n = ::copy_file_range(src, &so, dst, &d, size_t(length - r.copied), 0);
        if (n > 0) {
            r.copied += uint64_t(n);
            continue;
        }
        if (n == 0) {
            return r; // the source ended
        }
        if (errno == EINTR) {
            continue;
        }
        if (!copy_range_unsupported(errno)) {
            r.error = errno;
            return r;
        }
        copy_result rest = splice_copy(src, so, dst, d, length - r.copied);
        r.copied += rest.copied;
        r.error = rest.error;
        return r;
    }
    return r;
}

bool same_file(int a, int b) {
    struct stat sa {};
    struct stat sb {};
    return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

} // namespace

copy_result copy_file_data(int src, uint64_t src_offset, int dst, uint64_t dst_offset,
                           uint64_t length) {
    bool overlap = length && src_offset < dst_offset + length && dst_offset < src_offset + length;
    if (!overlap || !same_file(src, dst)) {
        return copy_disjoint(src, src_offset, dst, dst_offset, length);
    }
    if (src_offset == dst_offset) {
        return copy_result{length, 0}; // a range copied onto itself changes nothing
    }
    // Overlapping ranges of one file (copy_file_range refuses them with EINVAL): the
    // source range goes whole into an anonymous memory file first, then to the target,
    // both in the kernel. Copying in pieces no longer than the ranges' distance would
    // need a system call per byte for a distance of one.
    unique_fd stage(::memfd_create("smbx-copy", MFD_CLOEXEC));
    if (!stage) {
        return copy_result{0, errno};
    }
    copy_result in = copy_disjoint(src, src_offset, stage.get(), 0, length);
    if (in.error || in.copied == 0) {
        return copy_result{0, in.error};
    }
    return copy_disjoint(stage.get(), 0, dst, dst_offset, in.copied);
}

} // namespace smbx::vfs
