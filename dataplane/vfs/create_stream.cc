#include "dataplane/vfs/create_stream.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/ntstatus.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/access_check.hh"
#include "dataplane/vfs/streams.hh"

namespace smbx::vfs {

namespace {

bool overwrites(uint32_t disposition) {
    return disposition == file_supersede || disposition == file_overwrite ||
           disposition == file_overwrite_if;
}

// The base file or directory, for xattr access (reads and writes of xattrs need no
// write descriptor).
unique_fd open_base(resolved_path& base) {
    bool dir = S_ISDIR(base.st.st_mode);
    int flags = O_RDONLY | O_NONBLOCK | O_NOFOLLOW | (dir ? O_DIRECTORY : 0);
    unique_fd fd(open_beneath(base.parent.get(), base.leaf.c_str(), flags));
    if (!fd && errno == EACCES) {
        fd.reset(open_beneath(base.parent.get(), base.leaf.c_str(), O_PATH | O_NOFOLLOW));
    }
    return fd;
}

} // namespace

create_outcome create_stream(const std::string& share_root, bool read_only_share,
                             const smb_name& name, const create_params& p, resolved_path& base) {
    create_outcome out;
    if (p.options & file_directory_file) {
        out.status = status::not_a_directory; // a stream is never a directory
        return out;
    }
    if (base.leaf.empty()) {
        out.status = status::object_name_invalid; // no streams on the share root
        return out;
    }
    // A stream is guarded by its base file's descriptor (MS-FSA 2.1.5.1.2).
    const access_token& token = p.token ? *p.token : default_access_token();
    bool base_created = false;
    unique_fd fd;
    if (base.exists) {
        if (!S_ISREG(base.st.st_mode) && !S_ISDIR(base.st.st_mode)) {
            out.status = status::access_denied;
            return out;
        }
        fd = open_base(base);
    } else {
        if (p.disposition == file_open_disposition || p.disposition == file_overwrite) {
            out.status = status::object_name_not_found;
            return out;
        }
        if (read_only_share || !may_create_in(base.parent.get(), false, token)) {
            out.status = status::access_denied;
            return out;
        }
        // Creating a stream of a missing file creates the file (MS-FSA 2.1.5.1.2).
        fd.reset(open_beneath(base.parent.get(), base.leaf.c_str(),
                              O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK, 0666));
        base_created = fd.valid();
    }
    if (!fd) {
        out.status = errno_to_status(errno);
        return out;
    }
    auto fail = [&](uint32_t st) {
        if (base_created) {
            ::unlinkat(base.parent.get(), base.leaf.c_str(), 0);
        }
        out.status = st;
        out.open.reset();
        return out;
    };
    auto fi = query_file_info(fd.get());
    if (!fi) {
        return fail(errno_to_status(errno));
    }
    uint32_t access = map_generic(p.desired_access);
    out.maximal_access =
        base_created ? file_all_access : maximal_access(read_only_share, false, fi->attributes);
    if (!base_created) {
        out.maximal_access &= existing_file_access(base.parent.get(), base.leaf.c_str(), token);
    }
    if (access & maximum_allowed) {
        access = (access & ~maximum_allowed) | out.maximal_access;
    }
    if (access & ~out.maximal_access) {
        return fail(status::access_denied);
    }
    if ((p.options & file_delete_on_close) && !(access & delete_access)) {
        return fail(status::invalid_parameter);
    }
    auto stored = find_stream(fd.get(), name.stream);
    bool exists = stored.has_value();
    if (exists && p.disposition == file_create) {
        return fail(status::object_name_collision);
    }
    if (!exists && (p.disposition == file_open_disposition || p.disposition == file_overwrite)) {
        return fail(status::object_name_not_found);
    }
    if (read_only_share && (!exists || overwrites(p.disposition))) {
        return fail(status::access_denied);
    }
    std::string stream = exists ? *stored : name.stream;
    int raw_fd = fd.get();
    out.open = std::make_shared<file_open>(std::move(fd), *fi, share_root, read_only_share, stream);
    uint32_t st = out.open->register_share_mode(access, p.share_access, base.relative);
    if (st != status::success) {
        return fail(st);
    }
    if (!exists) {
        if ((st = create_stream(raw_fd, stream)) != status::success) {
            return fail(st);
        }
        out.action = file_created;
    } else if (overwrites(p.disposition)) {
        if ((st = truncate_stream(raw_fd, stream, 0)) != status::success) {
            return fail(st);
        }
        out.action = p.disposition == file_supersede ? file_superseded : file_overwritten;
    } else {
        out.action = file_opened;
    }
    if (p.options & file_delete_on_close) {
        out.open->set_delete_on_close(true);
    }
    out.open->granted_access = access;
    out.open->share_access = p.share_access;
    out.open->create_options = p.options;
    out.open->mode = p.options & (file_write_through | file_sequential_only |
                                  file_no_intermediate_buffering | file_synchronous_io_alert |
                                  file_synchronous_io_nonalert | file_delete_on_close);
    out.open->path = base.relative + ":" + stream;
    out.status = status::success;
    return out;
}

} // namespace smbx::vfs
