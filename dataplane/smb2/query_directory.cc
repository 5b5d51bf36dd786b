// SMB2 QUERY_DIRECTORY (MS-SMB2 2.2.33, 2.2.34, 3.3.5.18; MS-FSCC 2.4 directory
// classes; MS-FSA 2.1.5.6.3). The enumeration (pattern, matching names, cursor) lives
// in the directory open; names are matched with the DOS wildcard rules, ignoring
// case, "." and ".." first. Symlinks and special files are not listed: they cannot be
// opened through the share.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "dataplane/smb2/fscc.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/open_lookup.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/extended_attributes.hh"
#include "dataplane/vfs/name_match.hh"
#include "dataplane/vfs/share_path.hh"

namespace smbx::smb2 {

namespace {

constexpr uint8_t restart_scans = 0x01;
constexpr uint8_t return_single_entry = 0x02;
constexpr uint8_t reopen = 0x10;
constexpr size_t query_directory_fixed_end = header_size + 32;

// Reads the directory's names that match the pattern.
uint32_t load_names(vfs::file_open& dir, const std::string& pattern) {
    auto& e = dir.enumeration;
    e = vfs::dir_enumeration{};
    e.started = true;
    e.pattern = pattern;
    for (const char* dot : {".", ".."}) {
        if (vfs::wildcard_match(pattern, dot)) {
            e.names.emplace_back(dot);
        }
    }
    int fd = vfs::open_beneath(dir.fd(), ".", O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return vfs::errno_to_status(errno);
    }
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return status::no_memory;
    }
    while (auto* ent = ::readdir(d)) {
        std::string_view n = ent->d_name;
        if (n == "." || n == ".." || ent->d_type == DT_LNK || ent->d_type == DT_FIFO ||
            ent->d_type == DT_SOCK || ent->d_type == DT_CHR || ent->d_type == DT_BLK) {
            continue;
        }
        if (vfs::wildcard_match(pattern, n)) {
            e.names.emplace_back(n);
        }
    }
    ::closedir(d);
    return status::success;
}

std::optional<vfs::file_info> entry_info(vfs::file_open& dir, const std::string& name) {
    // ".." of the share root is the root itself: nothing above it is shown.
    if (name == "." || (name == ".." && dir.relative_name().empty())) {
        return dir.info();
    }
    auto fi = vfs::query_file_info_at(dir.fd(), name.c_str());
    if (!fi || (!S_ISREG(fi->mode) && !S_ISDIR(fi->mode))) {
        return std::nullopt;
    }
    return fi;
}

bool has_ea_size(uint8_t info_class) {
    return info_class != fscc::file_directory_information &&
           info_class != fscc::file_names_information;
}

// EaSize of an entry (MS-FSCC 2.4.14 and the other classes with the field).
uint32_t entry_ea_size(vfs::file_open& dir, const std::string& name) {
    std::optional<std::vector<vfs::ea_entry>> eas;
    if (name == "." || (name == ".." && dir.relative_name().empty())) {
        eas = vfs::list_eas(dir.fd());
    } else {
        eas = vfs::list_eas_at(dir.fd(), name.c_str());
    }
    return eas ? vfs::ea_list_size(*eas) : 0;
}

} // namespace

void handle_query_directory(request& req, response& resp) {
    auto b = req.body();
    b.u16(); // StructureSize: the command table checked it
    uint8_t info_class = b.u8();
    uint8_t flags = b.u8();
    b.u32(); // FileIndex: resuming at an index is not supported; it is ignored
    file_id id = vfs::read_file_id(b);
    uint16_t name_offset = b.u16();
    uint16_t name_length = b.u16();
    uint32_t output_length = b.u32();
    if (!b.ok()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto pattern_field = req.buffer_at(name_offset, name_length, query_directory_fixed_end);
    if (!pattern_field) {
        resp.fail(status::invalid_parameter);
        return;
    }
    byte_span pattern_utf16 = *pattern_field;
    auto h = open_or_fail(req, resp, id);
    if (!h) {
        return;
    }
    auto dir = vfs::as_file_open(h);
    if (!dir || !dir->is_directory()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (!(h->granted_access & vfs::file_read_data)) { // FILE_LIST_DIRECTORY
        resp.fail(status::access_denied);
        return;
    }
    size_t fixed = fscc::dir_entry_fixed_size(info_class);
    if (!fixed) {
        resp.fail(status::invalid_info_class);
        return;
    }
    if (output_length > connection::max_transact_size) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (output_length < fixed) {
        resp.fail(status::info_length_mismatch);
        return;
    }
    std::string pattern;
    if (!utf16le_to_utf8(pattern_utf16, pattern) ||
        pattern.find_first_of("\\/:|") != std::string::npos) {
        resp.fail(status::object_name_invalid);
        return;
    }
    auto& e = dir->enumeration;
    bool fresh = !e.started || (flags & (restart_scans | reopen));
    if (fresh) {
        if (pattern.empty()) {
            pattern = e.started ? e.pattern : "*";
        }
        if (uint32_t st = load_names(*dir, pattern)) {
            resp.fail(st);
            return;
        }
    }

    byte_writer out;
    size_t last_entry = 0;
    size_t count = 0;
    while (e.next < e.names.size()) {
        const auto& name = e.names[e.next];
        auto fi = entry_info(*dir, name);
        if (!fi) {
            ++e.next; // vanished or not listable
            continue;
        }
        byte_writer entry;
        bool dots = name == "." || name == "..";
        fscc::put_dir_entry(entry, info_class, *fi, name, dots ? "" : vfs::short_name(name),
                            has_ea_size(info_class) ? entry_ea_size(*dir, name) : 0);
        size_t start = (out.size() + 7) & ~size_t(7);
        if (start + entry.size() > output_length) {
            break;
        }
        if (count) {
            out.align(8);
            out.patch_u32(last_entry, uint32_t(start - last_entry));
        }
        last_entry = out.size();
        out.put(entry.buffer());
        ++count;
        ++e.next;
        if (flags & return_single_entry) {
            break;
        }
    }
    if (!count) {
        if (e.next < e.names.size()) {
            resp.fail(status::info_length_mismatch); // the next entry alone is too big
        } else {
            resp.fail(fresh ? status::no_such_file : status::no_more_files);
        }
        return;
    }
    auto& w = resp.body;
    w.u16(9);
    w.u16(uint16_t(header_size + 8));
    w.u32(uint32_t(out.size()));
    w.put(out.buffer());
}

} // namespace smbx::smb2
