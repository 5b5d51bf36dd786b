#include "dataplane/vfs/file_changes.hh"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <string>

#include "common/ntstatus.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/name_match.hh"
#include "dataplane/vfs/streams.hh"

namespace smbx::vfs {

namespace {

constexpr uint64_t max_size = uint64_t(std::numeric_limits<int64_t>::max());

// A FILETIME field of FileBasicInformation that asks for a change.
bool sets(int64_t t) {
    return t > 0;
}

std::string proc_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

struct located {
    uint32_t status = 0;
    unique_fd parent;
    std::string leaf;
};

// The directory holding the open file under its current name, checked to still be
// this file.
located locate(const unique_fd& root, const file_open& f) {
    located out;
    std::string rel = f.relative_name();
    auto slash = rel.rfind('/');
    std::string dir = slash == std::string::npos ? "." : rel.substr(0, slash);
    out.leaf = slash == std::string::npos ? rel : rel.substr(slash + 1);
    out.parent.reset(open_beneath(root.get(), dir.c_str(), O_PATH | O_DIRECTORY));
    struct stat st;
    if (!out.parent || out.leaf.empty() ||
        ::fstatat(out.parent.get(), out.leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        uint64_t(st.st_ino) != f.key().inode) {
        out.status = status::object_name_not_found;
    }
    return out;
}

bool directory_empty(int fd) {
    int d = open_beneath(fd, ".", O_RDONLY | O_DIRECTORY);
    if (d < 0) {
        return false;
    }
    DIR* dir = ::fdopendir(d);
    if (!dir) {
        ::close(d);
        return false;
    }
    bool empty = true;
    while (auto* e = ::readdir(dir)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") {
            empty = false;
            break;
        }
    }
    ::closedir(dir);
    return empty;
}

} // namespace

uint32_t set_basic(file_open& f, const basic_change& c) {
    auto fi = f.info();
    if (!fi) {
        return errno_to_status(errno);
    }
    if (c.attributes) {
        // MS-FSA 2.1.5.14.2: DIRECTORY cannot be given to a file; TEMPORARY not to a
        // directory.
        if ((!fi->directory && (c.attributes & attr_directory)) ||
            (fi->directory && (c.attributes & attr_temporary))) {
            return status::invalid_parameter;
        }
    }
    if (sets(c.last_access_time) || sets(c.last_write_time)) {
        struct timespec ts[2];
        ts[0] = sets(c.last_access_time) ? from_filetime(uint64_t(c.last_access_time))
                                         : timespec{0, UTIME_OMIT};
        ts[1] = sets(c.last_write_time) ? from_filetime(uint64_t(c.last_write_time))
                                        : timespec{0, UTIME_OMIT};
        // utimensat through /proc works for every kind of descriptor, O_PATH included.
        if (::utimensat(AT_FDCWD, proc_path(f.fd()).c_str(), ts, 0) != 0) {
            return errno_to_status(errno);
        }
    }
    if (c.attributes || sets(c.creation_time) || sets(c.change_time)) {
        auto old = read_dos_info(f.fd());
        dos_info d = old.value_or(dos_info{fi->attributes & attr_settable, 0, 0, 0});
        if (c.attributes) {
            // FileBasicInformation cannot set or clear SPARSE_FILE (MS-FSA 2.1.5.14.2):
            // only FSCTL_SET_SPARSE does.
            d.attributes = (c.attributes & attr_settable) | (d.attributes & attr_sparse_file);
        }
        if (sets(c.creation_time)) {
            d.creation_time = uint64_t(c.creation_time);
        }
        if (sets(c.change_time)) {
            auto now = f.info(); // mtime after the utimensat above
            d.change_time = uint64_t(c.change_time);
            d.change_mtime = now ? now->last_write_time : 0;
        }
        if (int err = write_dos_info(f.fd(), d)) {
            return errno_to_status(err);
        }
    }
    return status::success;
}

uint32_t rename_open(file_open& f, const smb_name& target, bool replace_if_exists) {
    if (target.is_root() || f.relative_name().empty()) {
        return status::access_denied; // the share root neither moves nor is replaced
    }
    if (f.is_stream() && !target.stream.empty()) {
        return status::sharing_violation; // "base:stream" targets, as Samba and Windows
    }
    if (f.is_stream() || !target.stream.empty()) {
        return status::not_supported; // a stream to a file or back: not supported
    }
    unique_fd root = open_share_root(f.share_root());
    if (!root) {
        return status::object_path_not_found;
    }
    auto src = locate(root, f);
    if (src.status != status::success) {
        return src.status;
    }
    if (f.is_directory() &&
        share_mode_table::global().has_opens_under(f.share_root(), f.relative_name())) {
        return status::access_denied;
    }
    resolved_path dst = resolve(root.get(), target);
    if (dst.status != status::success) {
        return dst.status;
    }
    std::string leaf = target.components.back(); // the client's spelling
    int flags = RENAME_NOREPLACE;
    if (dst.exists) {
        bool same = uint64_t(dst.st.st_ino) == f.key().inode;
        if (!same) {
            if (!replace_if_exists) {
                return status::object_name_collision;
            }
            auto other = query_file_info_at(dst.parent.get(), dst.leaf.c_str());
            if (!other || other->directory || (other->attributes & attr_readonly) ||
                share_mode_table::global().open_count({other->device, other->index_number, {}})) {
                return status::access_denied; // MS-FSA 2.1.5.14.11
            }
            leaf = dst.leaf; // replace the existing name atomically
            flags = 0;
        } else if (dst.leaf == leaf) {
            return status::success; // renamed onto itself
        }
        // else: a change of case only; `leaf` is free on a case-sensitive disk.
    }
    if (::renameat2(src.parent.get(), src.leaf.c_str(), dst.parent.get(), leaf.c_str(), flags) !=
        0) {
        return errno_to_status(errno);
    }
    auto slash = dst.relative.rfind('/');
    std::string rel = slash == std::string::npos ? leaf : dst.relative.substr(0, slash + 1) + leaf;
    if (f.state()) {
        share_mode_table::global().renamed(*f.state(), rel);
    }
    f.path = rel;
    return status::success;
}

uint32_t rename_stream(file_open& f, byte_span target_utf16, bool replace_if_exists) {
    std::string target;
    if (!utf16le_to_utf8(target_utf16, target)) {
        return status::object_name_invalid;
    }
    // ":name" or ":name:$DATA"; "::$DATA" is the unnamed data stream.
    std::string_view rest = std::string_view(target).substr(1);
    auto colon = rest.find(':');
    std::string name(rest.substr(0, colon));
    if ((colon != std::string_view::npos && !iequals(rest.substr(colon + 1), "$DATA")) ||
        (name.empty() && colon == std::string_view::npos) ||
        name.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos) {
        return status::object_name_invalid;
    }
    if (!f.is_stream()) {
        return status::not_supported; // the unnamed data stream does not move
    }
    bytes data;
    if (uint32_t st = read_stream(f.fd(), f.stream_name(), 0, uint32_t(max_stream_size), data)) {
        return st;
    }
    if (name.empty()) {
        auto base = query_file_info(f.fd());
        if (!base || base->directory || base->end_of_file) {
            return status::object_name_collision;
        }
        unique_fd w(::open(proc_path(f.fd()).c_str(), O_WRONLY));
        if (!w || ::pwrite(w.get(), data.data(), data.size(), 0) != ssize_t(data.size())) {
            return errno_to_status(errno);
        }
        return remove_stream(f.fd(), f.stream_name());
    }
    auto existing = find_stream(f.fd(), name);
    if (existing && *existing != f.stream_name()) {
        if (!replace_if_exists) {
            return status::object_name_collision;
        }
        if (stream_size(f.fd(), *existing).value_or(0) ||
            share_mode_table::global().open_count({f.key().device, f.key().inode, *existing})) {
            return status::invalid_parameter; // NTFS replaces only empty, unopened streams
        }
        name = *existing;
    } else if (existing) {
        return status::success; // onto itself
    }
    if (uint32_t st = truncate_stream(f.fd(), name, 0);
        st != status::success && st != status::object_name_not_found) {
        return st;
    }
    if (!find_stream(f.fd(), name)) {
        if (uint32_t st = create_stream(f.fd(), name)) {
            return st;
        }
    }
    if (uint32_t st = write_stream(f.fd(), name, 0, data)) {
        return st;
    }
    if (uint32_t st = remove_stream(f.fd(), f.stream_name())) {
        return st;
    }
    f.stream_renamed(name);
    return status::success;
}

uint32_t set_disposition(file_open& f, bool delete_pending, bool ignore_readonly, bool on_close) {
    if (!f.state()) {
        return status::invalid_handle;
    }
    if (delete_pending) {
        if (f.relative_name().empty()) {
            return status::access_denied; // never the share root
        }
        auto fi = f.info();
        if (!fi) {
            return errno_to_status(errno);
        }
        if (!fi->directory && (fi->attributes & attr_readonly) && !ignore_readonly) {
            return status::cannot_delete;
        }
        if (fi->directory && !directory_empty(f.fd())) {
            return status::directory_not_empty;
        }
    }
    if (on_close) {
        f.set_delete_on_close(delete_pending);
    } else {
        share_mode_table::global().set_delete_pending(*f.state(), delete_pending);
    }
    return status::success;
}

uint32_t set_end_of_file(file_open& f, uint64_t size) {
    if (f.is_directory() || size > max_size) {
        return status::invalid_parameter;
    }
    if (f.is_stream()) {
        return truncate_stream(f.fd(), f.stream_name(), size);
    }
    if (::ftruncate(f.fd(), off_t(size)) != 0) {
        return errno_to_status(errno);
    }
    return status::success;
}

uint32_t set_allocation_size(file_open& f, uint64_t size) {
    if (f.is_directory() || size > max_size) {
        return status::invalid_parameter;
    }
    auto fi = f.info();
    if (!fi) {
        return errno_to_status(errno);
    }
    // MS-FSA 2.1.5.14.1: an allocation below the end of file truncates the file.
    if (size < fi->end_of_file) {
        return set_end_of_file(f, size);
    }
    if (f.is_stream()) {
        return status::success; // a stream's allocation is its xattr
    }
    (void)::fallocate(f.fd(), FALLOC_FL_KEEP_SIZE, 0, off_t(size)); // best effort
    return status::success;
}

} // namespace smbx::vfs
