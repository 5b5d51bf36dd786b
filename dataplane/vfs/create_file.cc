#include "dataplane/vfs/create_file.hh"

#include <cstring>

#include "common/log.hh"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.hh"
#include "common/ntstatus.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/create_stream.hh"
#include "dataplane/vfs/streams.hh"

namespace smbx::vfs {

namespace {

bool overwrites(uint32_t disposition) {
    return disposition == file_supersede || disposition == file_overwrite ||
           disposition == file_overwrite_if;
}

// Parameter checks of MS-SMB2 3.3.5.9 and MS-FSA 2.1.5.1 that need no file.
uint32_t check_params(const smb_name& name, const create_params& p) {
    if (p.disposition > file_overwrite_if) {
        return status::invalid_parameter;
    }
    if ((p.options & file_directory_file) && (p.options & file_non_directory_file)) {
        return status::invalid_parameter;
    }
    if (p.options & 0xFF000000) {
        return status::invalid_parameter;
    }
    // Like Windows (smbtorture smb2.create.gentest): no tree connections, opens by
    // file id or reserve-opfilter opens.
    if (p.options & (file_create_tree_connection | file_reserve_opfilter | file_open_by_file_id)) {
        return status::not_supported;
    }
    if ((p.options & file_directory_file) && p.disposition != file_create &&
        p.disposition != file_open_disposition && p.disposition != file_open_if) {
        return status::invalid_parameter;
    }
    if (p.share_access & ~file_share_valid) {
        return status::invalid_parameter;
    }
    // Reserved bits, no access at all, or SYNCHRONIZE alone are refused, as Windows
    // servers since 2008 R2 do (smbtorture smb2.create.gentest).
    if (p.desired_access == 0 || p.desired_access == synchronize ||
        (p.desired_access & ~valid_access_bits)) {
        return status::access_denied;
    }
    if (p.desired_access & access_system_security) {
        return status::privilege_not_held; // no SACLs
    }
    // VOLUME, DEVICE, 0x8000 and the undefined high bits; checked after the access
    // mask, as Windows does (smb2.create.gentest).
    if (p.file_attributes & 0xFFFF8048) {
        return status::invalid_parameter;
    }
    if (name.trailing_separator && (p.options & file_non_directory_file)) {
        return status::object_name_invalid;
    }
    // "dir::$DATA" names a data stream, which a directory does not have
    // (smbtorture smb2.streams.dir).
    if (name.data_suffix && (p.options & file_directory_file)) {
        return status::not_a_directory;
    }
    return status::success;
}

int open_flags(uint32_t access, bool directory, bool need_write, uint32_t options) {
    if (directory) {
        return O_RDONLY | O_DIRECTORY;
    }
    bool r = access & (file_read_data | file_execute);
    bool w = need_write || (access & (file_write_data | file_append_data));
    int flags = (r && w) ? O_RDWR : w ? O_WRONLY : O_RDONLY;
    if (options & file_write_through) {
        flags |= O_DSYNC; // FILE_WRITE_THROUGH: writes reach stable storage
    }
    // O_NONBLOCK: never hang on a FIFO that raced in; O_NOFOLLOW: never a symlink.
    return flags | O_NONBLOCK | O_NOFOLLOW;
}

uint32_t stored_attributes(uint32_t requested, bool directory) {
    uint32_t a = requested & attr_settable;
    return directory ? a & ~attr_archive : a | attr_archive;
}

} // namespace

uint32_t maximal_access(bool read_only_share, bool directory, uint32_t attributes) {
    if (read_only_share) {
        return read_only_access;
    }
    uint32_t m = file_all_access;
    if (!directory && (attributes & attr_readonly)) {
        m &= ~(file_write_data | file_append_data | file_write_ea | file_delete_child);
    }
    return m;
}

// AlSi: reserve space without changing the end of file; best effort.
static void reserve_allocation(file_open& open, const create_params& p) {
    if (p.allocation_size) {
        (void)::fallocate(open.fd(), FALLOC_FL_KEEP_SIZE, 0, off_t(p.allocation_size));
    }
}

static create_outcome create_once(const std::string& share_root, bool read_only_share,
                                  const smb_name& name, const create_params& p) {
    create_outcome out;
    if ((out.status = check_params(name, p)) != status::success) {
        return out;
    }
    unique_fd root = open_share_root(share_root);
    if (!root) {
        out.status = status::object_path_not_found;
        return out;
    }
    resolved_path r = resolve(root.get(), name);
    if (r.status != status::success) {
        out.status = r.status;
        return out;
    }
    if (!name.stream.empty()) {
        return create_stream(share_root, read_only_share, name, p, r);
    }
    // The share root is the parent itself.
    const char* leaf = r.leaf.empty() ? "." : r.leaf.c_str();
    uint32_t access = map_generic(p.desired_access);
    const access_token& token = p.token ? *p.token : default_access_token();
    bool directory;
    uint32_t existing_attrs = 0;
    if (r.exists) {
        if (!S_ISREG(r.st.st_mode) && !S_ISDIR(r.st.st_mode)) {
            out.status = status::access_denied; // devices, FIFOs, sockets
            return out;
        }
        directory = S_ISDIR(r.st.st_mode);
        if (p.disposition == file_create) {
            out.status = status::object_name_collision;
            return out;
        }
        if (directory && (p.options & file_non_directory_file)) {
            out.status = status::file_is_a_directory;
            return out;
        }
        if (!directory && ((p.options & file_directory_file) || name.trailing_separator)) {
            out.status =
                name.trailing_separator ? status::object_name_invalid : status::not_a_directory;
            return out;
        }
        if (directory && name.data_suffix) {
            out.status = status::file_is_a_directory;
            return out;
        }
        if (directory && overwrites(p.disposition)) {
            out.status = status::file_is_a_directory;
            return out;
        }
        auto fi = query_file_info_at(r.parent.get(), leaf);
        if (!fi) {
            out.status = errno_to_status(errno);
            return out;
        }
        existing_attrs = fi->attributes;
        out.maximal_access = maximal_access(read_only_share, directory, existing_attrs);
        // The server's own permissions bound what it can grant.
        if (::faccessat(r.parent.get(), leaf, W_OK, AT_EACCESS) != 0) {
            out.maximal_access &= ~(file_write_data | file_append_data);
        }
        if (::faccessat(r.parent.get(), leaf, R_OK, AT_EACCESS) != 0) {
            out.maximal_access &= ~(file_read_data | file_execute);
        }
        // And so does the file's DACL (MS-SMB2 3.3.5.9, MS-DTYP 2.5.3.2).
        out.maximal_access &= existing_file_access(r.parent.get(), leaf, token);
        if (overwrites(p.disposition)) {
            // MS-FSA 2.1.5.1.2.1: no overwriting read-only files, and HIDDEN/SYSTEM
            // must be kept by the caller.
            uint32_t keep = existing_attrs & (attr_hidden | attr_system);
            if (read_only_share || (existing_attrs & attr_readonly) ||
                (keep & ~p.file_attributes)) {
                out.status = status::access_denied;
                return out;
            }
        }
    } else {
        if (p.disposition == file_open_disposition || p.disposition == file_overwrite) {
            out.status = status::object_name_not_found;
            return out;
        }
        directory = p.options & file_directory_file;
        if (name.trailing_separator && !directory) {
            out.status = status::object_name_invalid;
            return out;
        }
        if (read_only_share || !may_create_in(r.parent.get(), directory, token)) {
            out.status = status::access_denied;
            return out;
        }
        out.maximal_access = file_all_access;
    }
    if (access & maximum_allowed) {
        access = (access & ~maximum_allowed) | out.maximal_access;
    }
    if (access & ~out.maximal_access) {
        out.status = status::access_denied;
        return out;
    }
    // No EFS: a file cannot be created encrypted (as a standalone Windows server;
    // smbtorture smb2.create.gentest accepts ACCESS_DENIED).
    if ((p.file_attributes & attr_encrypted) && !directory &&
        (!r.exists || overwrites(p.disposition))) {
        out.status = status::access_denied;
        return out;
    }
    if (p.options & file_delete_on_close) {
        if (!(access & delete_access)) {
            out.status = status::invalid_parameter;
            return out;
        }
        if (name.is_root()) {
            out.status = status::access_denied;
            return out;
        }
        if (r.exists && !directory && (existing_attrs & attr_readonly)) {
            out.status = status::cannot_delete;
            return out;
        }
    }

    bool created = false;
    int flags = open_flags(access, directory, r.exists && overwrites(p.disposition), p.options);
    unique_fd fd;
    if (r.exists) {
        fd.reset(open_beneath(r.parent.get(), leaf, flags));
        if (!fd && errno == EACCES && (flags & O_ACCMODE) == O_RDONLY &&
            !(access & (file_read_data | file_execute))) {
            // Attribute-only open of a file the server cannot read.
            fd.reset(open_beneath(r.parent.get(), leaf, O_PATH));
        }
    } else if (directory) {
        if (::mkdirat(r.parent.get(), leaf, 0777) == 0) {
            created = true;
            fd.reset(open_beneath(r.parent.get(), leaf, flags));
        }
    } else {
        fd.reset(open_beneath(r.parent.get(), leaf, flags | O_CREAT | O_EXCL, 0666));
        created = fd.valid();
    }
    if (!fd) {
        out.status = errno_to_status(errno);
        return out;
    }
    auto fi = query_file_info(fd.get());
    if (!fi || (!S_ISREG(fi->mode) && !S_ISDIR(fi->mode))) {
        out.status = status::access_denied;
        return out;
    }
    if (!(flags & O_PATH)) {
        ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
    }
    bool direct = false;
    if (p.direct_io && !directory && !(flags & O_PATH) && S_ISREG(fi->mode)) {
        // The file system may refuse O_DIRECT (EINVAL): then this open stays buffered.
        direct = ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_DIRECT) == 0;
        if (!direct) {
            LOG_DEBUG("O_DIRECT refused by the file system (%s): buffered I/O", strerror(errno));
        }
    }
    auto open = std::make_shared<file_open>(std::move(fd), *fi, share_root, read_only_share);
    open->set_direct_io(direct);
    if (struct statfs fs{}; !directory && ::fstatfs(open->fd(), &fs) == 0 &&
                            (fs.f_type == TMPFS_MAGIC || fs.f_type == RAMFS_MAGIC)) {
        open->set_worker_reads(file_open::nowait_read::memory_backed);
    }
    out.status = open->register_share_mode(access, p.share_access, r.relative);
    if (out.status == status::sharing_violation) {
        out.sharing_conflict = open->key();
    }
    if (out.status != status::success) {
        if (created) {
            ::unlinkat(r.parent.get(), leaf, directory ? AT_REMOVEDIR : 0);
        }
        return out;
    }
    if (r.exists && overwrites(p.disposition)) {
        out.overwrite_pending = true;
        if (!p.defer_overwrite) {
            if (uint32_t st = finish_overwrite(*open, p, out); st != status::success) {
                out.status = st;
                return out;
            }
        }
    } else if (created) {
        uint32_t attrs = stored_attributes(p.file_attributes, directory);
        if (attrs != (directory ? 0u : attr_archive)) {
            write_dos_info(open->fd(), dos_info{attrs, 0, 0, 0});
        }
        // Best effort: without user xattrs the file keeps the synthesized default.
        store_new_file_descriptor(open->fd(), r.parent.get(), directory, token, p.security);
        out.action = file_created;
    } else {
        out.action = file_opened;
    }
    if (!directory && out.action == file_created) {
        reserve_allocation(*open, p); // an overwrite's comes in finish_overwrite
    }
    if (!directory && (p.options & (file_sequential_only | file_random_access))) {
        ::posix_fadvise(open->fd(), 0, 0,
                        (p.options & file_sequential_only) ? POSIX_FADV_SEQUENTIAL
                                                           : POSIX_FADV_RANDOM);
    }
    if (p.options & file_delete_on_close) {
        open->set_delete_on_close(true);
    }
    open->granted_access = access;
    open->share_access = p.share_access;
    open->create_options = p.options;
    open->mode = p.options &
                 (file_write_through | file_sequential_only | file_no_intermediate_buffering |
                  file_synchronous_io_alert | file_synchronous_io_nonalert | file_delete_on_close);
    open->path = r.relative;
    out.open = std::move(open);
    return out;
}

uint32_t finish_overwrite(file_open& open, const create_params& p, create_outcome& out) {
    if (!out.overwrite_pending) {
        return status::success;
    }
    out.overwrite_pending = false;
    if (::ftruncate(open.fd(), 0) != 0) {
        return errno_to_status(errno);
    }
    remove_streams(open.fd()); // an overwritten file loses its named streams
    auto old = read_dos_info(open.fd());
    dos_info d{stored_attributes(p.file_attributes, false), old ? old->creation_time : 0};
    write_dos_info(open.fd(), d);
    out.action = p.disposition == file_supersede ? file_superseded : file_overwritten;
    reserve_allocation(open, p);
    return status::success;
}

create_outcome create_file(const std::string& share_root, bool read_only_share,
                           const smb_name& name, const create_params& p) {
    // A name another open created between the lookup and the create is opened
    // instead when the disposition allows (smbtorture smb2.create.mkdir-dup).
    auto out = create_once(share_root, read_only_share, name, p);
    if (out.status == status::object_name_collision && p.disposition != file_create) {
        out = create_once(share_root, read_only_share, name, p);
    }
    return out;
}

} // namespace smbx::vfs
