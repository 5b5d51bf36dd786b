#include "dataplane/smb2/fsctl_duplicate_extents.hh"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>

#include "dataplane/smb2/fsctl.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/open_lookup.hh"
#include "dataplane/vfs/share_path.hh"

namespace smbx::smb2 {

std::optional<duplicate_extents_data> parse_duplicate_extents(byte_span input) {
    byte_reader r(input);
    duplicate_extents_data d;
    d.source.persistent = r.u64();
    d.source.volatile_id = r.u64();
    auto source_offset = int64_t(r.u64());
    auto target_offset = int64_t(r.u64());
    auto count = int64_t(r.u64());
    if (!r.ok() || source_offset < 0 || target_offset < 0 || count < 0 ||
        source_offset > INT64_MAX - count || target_offset > INT64_MAX - count) {
        return std::nullopt;
    }
    d.source_offset = uint64_t(source_offset);
    d.target_offset = uint64_t(target_offset);
    d.byte_count = uint64_t(count);
    return d;
}

uint32_t clone_error_status(int err) {
    switch (err) {
    case EOPNOTSUPP:
    case ENOTTY:
    case ENOSYS:
        return status::invalid_device_request;
    case EXDEV:
    case EINVAL:
        return status::invalid_parameter;
    default:
        return vfs::errno_to_status(err);
    }
}

// FSCTL_DUPLICATE_EXTENTS_TO_FILE on the target open. The source is an open of the
// same session (3.3.5.15.17: Session.OpenTable; INVALID_HANDLE otherwise). The target
// needs FILE_WRITE_DATA, the source FILE_READ_DATA (MS-FSA 2.1.5.10.4). Ranges of one
// file that overlap, and a source range beyond the source's end, are NOT_SUPPORTED
// (MS-FSCC 2.3.8); the rest is the file system's answer (clone_error_status).
void handle_duplicate_extents(request& req, response& resp, const ioctl_request& in) {
    auto target = fsctl_file(req, resp, in);
    if (!target) {
        return;
    }
    auto d = parse_duplicate_extents(in.input);
    if (!d) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto source = vfs::as_file_open(req.conn.find_open(*req.sess, d->source));
    if (!source || source->session_id != req.sess->id) {
        resp.fail(status::invalid_handle);
        return;
    }
    if (!(target->granted_access & vfs::file_write_data) ||
        !(source->granted_access & vfs::file_read_data)) {
        resp.fail(status::access_denied);
        return;
    }
    if (target->is_directory() || source->is_directory() || target->is_stream() ||
        source->is_stream()) {
        resp.fail(status::invalid_parameter); // MS-FSA: an Open of a DataStream only
        return;
    }
    int src_fd = source->buffered_fd();
    int dst_fd = target->buffered_fd();
    struct stat ss {};
    struct stat ts {};
    if (::fstat(src_fd, &ss) != 0 || ::fstat(dst_fd, &ts) != 0) {
        resp.fail(vfs::errno_to_status(errno));
        return;
    }
    bool same = ss.st_dev == ts.st_dev && ss.st_ino == ts.st_ino;
    bool overlap = d->source_offset < d->target_offset + d->byte_count &&
                   d->target_offset < d->source_offset + d->byte_count;
    if ((same && overlap) || d->source_offset + d->byte_count > uint64_t(ss.st_size)) {
        resp.fail(status::not_supported);
        return;
    }
    if (d->byte_count > 0) {
        if (uint32_t st = target->state()->locks.check_io(target.get(), d->target_offset,
                                                          d->byte_count, true)) {
            resp.fail(st);
            return;
        }
        // FICLONERANGE's length 0 means "to the source's end": never sent here.
        struct file_clone_range arg {};
        arg.src_fd = src_fd;
        arg.src_offset = d->source_offset;
        arg.src_length = d->byte_count;
        arg.dest_offset = d->target_offset;
        if (::ioctl(dst_fd, FICLONERANGE, &arg) != 0) {
            resp.fail(clone_error_status(errno));
            return;
        }
    }
    write_ioctl_body(resp, in, {});
}

} // namespace smbx::smb2
