#include "dataplane/vfs/file_open.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.hh"
#include "common/ntstatus.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/share_path.hh"
#include "dataplane/vfs/streams.hh"

namespace smbx::vfs {

file_open::file_open(unique_fd fd, const file_info& info, std::string share_root,
                     bool read_only_share, std::string stream)
    : _fd(std::move(fd)), _key{info.device, info.index_number, std::move(stream)},
      _directory(info.directory && _key.stream.empty()), _share_root(std::move(share_root)),
      _read_only_share(read_only_share) {}

int file_open::buffered_fd() {
    if (!_direct_io) {
        return _fd.get();
    }
    if (!_buffered_fd) {
        // Reopening through /proc gives the same inode, whatever its name is by now.
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", _fd.get());
        int flags = ::fcntl(_fd.get(), F_GETFL);
        _buffered_fd.reset(::open(path, (flags & O_ACCMODE) | O_CLOEXEC));
    }
    return _buffered_fd ? _buffered_fd.get() : _fd.get();
}

file_open::~file_open() {
    if (!_state) {
        return;
    }
    _state->locks.release_all(this);
    auto r = share_mode_table::global().remove(*_state, this);
    if (r.delete_file) {
        if (is_stream()) {
            remove_stream(_fd.get(), _key.stream);
        } else {
            remove_file(r.share_root, r.relative);
        }
    }
}

std::optional<file_info> file_open::info() const {
    auto fi = query_file_info(_fd.get());
    if (fi && is_stream()) {
        // A stream is not a directory even on one; its sizes are its own.
        auto size = stream_size(_fd.get(), _key.stream);
        fi->end_of_file = size.value_or(0);
        fi->allocation_size = (fi->end_of_file + 4095) & ~uint64_t(4095);
        fi->directory = false;
        fi->attributes = effective_attributes(fi->attributes & ~attr_directory, false);
    }
    return fi;
}

uint32_t file_open::register_share_mode(uint32_t access, uint32_t share,
                                        const std::string& relative) {
    auto r = share_mode_table::global().add(_key, this, access, share, _share_root, relative);
    if (r.status == status::success) {
        _state = std::move(r.state);
    }
    return r.status;
}

std::string file_open::relative_name() const {
    return _state ? share_mode_table::global().relative(*_state) : std::string();
}

void file_open::set_delete_on_close(bool on) {
    if (_state) {
        share_mode_table::global().set_delete_on_close(*_state, this, on);
    }
}

bool file_open::delete_pending() const {
    return _state && share_mode_table::global().delete_pending(*_state);
}

// Removes the file by its current name, but only if that name still refers to this
// file (another file may have been renamed over it since).
void file_open::remove_file(const std::string& share_root, const std::string& relative) {
    if (relative.empty()) {
        return; // never the share root
    }
    unique_fd root = open_share_root(share_root);
    if (!root) {
        return;
    }
    auto slash = relative.rfind('/');
    std::string dir = slash == std::string::npos ? "." : relative.substr(0, slash);
    std::string leaf = slash == std::string::npos ? relative : relative.substr(slash + 1);
    unique_fd parent(open_beneath(root.get(), dir.c_str(), O_PATH | O_DIRECTORY));
    if (!parent) {
        return;
    }
    struct stat st;
    if (::fstatat(parent.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        uint64_t(st.st_ino) != _key.inode) {
        return;
    }
    int flags = S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0;
    if (::unlinkat(parent.get(), leaf.c_str(), flags) != 0) {
        LOG_INFO("delete on close of %s failed: errno %d", relative.c_str(), errno);
    }
}

} // namespace smbx::vfs
