#include "dataplane/smb2/fsctl_sparse.hh"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "dataplane/smb2/fsctl.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/share_path.hh"
#include "dataplane/vfs/sparse_file.hh"

namespace smbx::smb2 {

namespace {

// An offset and a length as two signed 64-bit values (LARGE_INTEGER) that must not
// be negative nor reach past INT64_MAX together.
std::optional<file_range> read_range(byte_reader& r) {
    auto offset = int64_t(r.u64());
    auto length = int64_t(r.u64());
    if (!r.ok() || offset < 0 || length < 0 || offset > INT64_MAX - length) {
        return std::nullopt;
    }
    return file_range{uint64_t(offset), uint64_t(length)};
}

// Size of the open's file, or nullopt after failing the request.
std::optional<uint64_t> file_size(response& resp, int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        resp.fail(vfs::errno_to_status(errno));
        return std::nullopt;
    }
    return uint64_t(st.st_size);
}

// The data-changing FSCTLs act on a regular file's own data: a directory is
// INVALID_PARAMETER (MS-FSA 2.1.5.10, FSCTL_SET_SPARSE and
// FSCTL_SET_ZERO_DATA: not a DataStream), a named stream NOT_SUPPORTED
// (its data lives in an xattr, vfs/streams.hh, not in the fd these would change).
bool data_file(response& resp, const vfs::file_open& f) {
    if (f.is_directory()) {
        resp.fail(status::invalid_parameter);
        return false;
    }
    if (f.is_stream()) {
        resp.fail(status::not_supported);
        return false;
    }
    return true;
}

// The regular file a zeroing FSCTL changes, its descriptor and size; nullopt after
// failing the request, in the order Windows checks: the open (FILE_CLOSED), the input
// (INVALID_PARAMETER), FILE_WRITE_DATA (ACCESS_DENIED), the kind of open (data_file).
struct data_to_change {
    std::shared_ptr<vfs::file_open> f;
    int fd = -1;
    uint64_t size = 0;
};
std::optional<data_to_change> open_data_to_change(request& req, response& resp,
                                                  const ioctl_request& in, bool input_ok) {
    auto f = fsctl_file(req, resp, in);
    if (!f) {
        return std::nullopt;
    }
    if (!input_ok) {
        resp.fail(status::invalid_parameter);
        return std::nullopt;
    }
    if (!(f->granted_access & vfs::file_write_data)) {
        resp.fail(status::access_denied);
        return std::nullopt;
    }
    if (!data_file(resp, *f)) {
        return std::nullopt;
    }
    int fd = f->buffered_fd();
    auto size = file_size(resp, fd);
    if (!size) {
        return std::nullopt;
    }
    return data_to_change{std::move(f), fd, *size};
}

} // namespace

bool parse_set_sparse(byte_span input) {
    return input.empty() || input[0] != 0;
}

std::optional<file_range> parse_zero_data(byte_span input) {
    byte_reader r(input);
    auto offset = int64_t(r.u64());
    auto beyond = int64_t(r.u64());
    if (!r.ok() || offset < 0 || beyond < 0 || offset > beyond) {
        return std::nullopt;
    }
    return file_range{uint64_t(offset), uint64_t(beyond - offset)};
}

std::optional<std::vector<file_range>> parse_file_level_trim(byte_span input) {
    byte_reader r(input);
    r.skip(4); // Key: reserved
    uint32_t count = r.u32();
    if (!r.ok() || r.remaining() / 16 < count) {
        return std::nullopt;
    }
    std::vector<file_range> ranges;
    ranges.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        auto range = read_range(r);
        if (!range) {
            return std::nullopt;
        }
        ranges.push_back(*range);
    }
    return ranges;
}

std::optional<file_range> parse_allocated_range(byte_span input) {
    byte_reader r(input);
    return read_range(r);
}

// FSCTL_SET_SPARSE (MS-FSCC 2.3.64; MS-FSA 2.1.5.10, FSCTL_SET_SPARSE): any of FILE_WRITE_DATA,
// FILE_WRITE_ATTRIBUTES or FILE_APPEND_DATA suffices. No output.
void handle_set_sparse(request& req, response& resp, const ioctl_request& in) {
    auto f = fsctl_file(req, resp, in);
    if (!f || !data_file(resp, *f)) {
        return;
    }
    constexpr uint32_t may_set =
        vfs::file_write_data | vfs::file_write_attributes | vfs::file_append_data;
    if (!(f->granted_access & may_set)) {
        resp.fail(status::access_denied);
        return;
    }
    if (uint32_t st = vfs::set_sparse(*f, parse_set_sparse(in.input))) {
        resp.fail(st);
        return;
    }
    write_ioctl_body(resp, in, {});
}

// FSCTL_SET_ZERO_DATA (MS-FSCC 2.3.67; MS-FSA 2.1.5.10, FSCTL_SET_ZERO_DATA): zeroes up to the end
// of file, never beyond it (the size does not change); FILE_WRITE_DATA needed; byte-range locks
// hold as for a WRITE.
void handle_set_zero_data(request& req, response& resp, const ioctl_request& in) {
    auto range = parse_zero_data(in.input);
    auto target = open_data_to_change(req, resp, in, range.has_value());
    if (!target) {
        return;
    }
    auto& f = target->f;
    int fd = target->fd;
    uint64_t end = std::min(range->offset + range->length, target->size);
    if (range->offset < end) {
        uint64_t length = end - range->offset;
        if (uint32_t st = f->state()->locks.check_io(f.get(), range->offset, length, true)) {
            resp.fail(st);
            return;
        }
        if (uint32_t st = vfs::zero_file_range(fd, vfs::is_sparse(fd), range->offset, length)) {
            resp.fail(st);
            return;
        }
    }
    write_ioctl_body(resp, in, {});
}

// FSCTL_FILE_LEVEL_TRIM (MS-FSCC 2.3.14; MS-FSA 2.1.5.10, FSCTL_FILE_LEVEL_TRIM): the ranges'
// storage may be released and their data becomes undefined; here each range (up to the end of file)
// is punched out and reads as zeroes. FILE_LEVEL_TRIM_OUTPUT counts the ranges processed.
void handle_file_level_trim(request& req, response& resp, const ioctl_request& in) {
    auto ranges = parse_file_level_trim(in.input);
    auto target = open_data_to_change(req, resp, in, ranges.has_value());
    if (!target) {
        return;
    }
    uint32_t processed = 0;
    for (const auto& range : *ranges) {
        uint64_t end = std::min(range.offset + range.length, target->size);
        if (range.offset < end) {
            if (uint32_t st = vfs::punch_file_hole(target->fd, range.offset, end - range.offset)) {
                resp.fail(st);
                return;
            }
        }
        ++processed;
    }
    byte_writer out;
    if (in.max_output >= 4) {
        out.u32(processed);
    }
    write_ioctl_body(resp, in, out.buffer());
}

// FSCTL_QUERY_ALLOCATED_RANGES (MS-FSCC 2.3.41; MS-FSA 2.1.5.10,
// FSCTL_QUERY_ALLOCATED_RANGES). A file no client
// made sparse is allocated throughout, as NTFS reports it: one range up to the end of
// file, whatever holes Linux keeps. A sparse file's ranges are its data, found with
// SEEK_DATA/SEEK_HOLE, so that SET_ZERO_DATA's and FILE_LEVEL_TRIM's holes show.
void handle_query_allocated_ranges(request& req, response& resp, const ioctl_request& in) {
    auto f = fsctl_file(req, resp, in);
    if (!f) {
        return;
    }
    auto range = parse_allocated_range(in.input);
    if (!range) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (!(f->granted_access & vfs::file_read_data)) {
        resp.fail(status::access_denied);
        return;
    }
    if (f->is_directory()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    int fd = f->buffered_fd();
    auto size = file_size(resp, fd);
    if (!size) {
        return;
    }
    byte_writer out;
    uint32_t st = status::success;
    // One FILE_ALLOCATED_RANGE_BUFFER more, if it fits: the first that does not is
    // BUFFER_TOO_SMALL (nothing to return), a later one BUFFER_OVERFLOW (what fits is
    // returned); no range at all needs no room (smbtorture smb2.ioctl.sparse_qar_malformed).
    auto add = [&](int64_t from, int64_t to) {
        if (out.size() + 16 > in.max_output) {
            st = out.size() == 0 ? status::buffer_too_small : status::buffer_overflow;
            return false;
        }
        out.u64(uint64_t(from));
        out.u64(uint64_t(to - from));
        return true;
    };
    int64_t end = int64_t(std::min(range->offset + range->length, *size));
    int64_t pos = int64_t(range->offset);
    if (!f->is_stream() && !vfs::is_sparse(fd)) {
        if (pos < end) {
            add(pos, end);
        }
        pos = end;
    }
    while (pos < end) {
        off_t data = ::lseek(fd, pos, SEEK_DATA);
        if (data < 0 || data >= end) {
            break; // ENXIO: no data at or after pos
        }
        off_t hole = ::lseek(fd, data, SEEK_HOLE);
        if (hole < 0) {
            break;
        }
        int64_t stop = std::min<int64_t>(hole, end);
        if (!add(data, stop)) {
            break;
        }
        pos = stop;
    }
    if (st == status::buffer_too_small) {
        resp.fail(st);
        return;
    }
    resp.status = st;
    write_ioctl_body(resp, in, out.buffer());
}

} // namespace smbx::smb2
