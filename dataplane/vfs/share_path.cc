#include "dataplane/vfs/share_path.hh"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/ntstatus.hh"
#include "dataplane/vfs/name_match.hh"

namespace smbx::vfs {

namespace {

constexpr size_t max_component_utf16 = 255; // MS-FSCC 2.1.5.1
constexpr size_t max_component_bytes = 255; // Linux NAME_MAX

bool is_illegal_char(unsigned char c) {
    // MS-FSCC 2.1.5.2: control characters and " * / : < > ? \ | are not allowed in a
    // file name ('\' separates components; ':' is the stream separator).
    if (c < 0x20) {
        return true;
    }
    switch (c) {
    case '"':
    case '*':
    case '/':
    case ':':
    case '<':
    case '>':
    case '?':
    case '\\':
    case '|':
        return true;
    default:
        return false;
    }
}

size_t utf16_units(std::string_view utf8) {
    size_t n = 0;
    for (unsigned char c : utf8) {
        if ((c & 0xC0) != 0x80) {
            n += (c >= 0xF0) ? 2 : 1;
        }
    }
    return n;
}

bool ascii_iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'a' && x <= 'z') {
            x -= 0x20;
        }
        if (y >= 'a' && y <= 'z') {
            y -= 0x20;
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

// Splits "base:stream[:type]" off the last component (MS-FSCC 2.1.5.3): the only
// stream type is $DATA; "base::$DATA" is the unnamed data stream. Stream names may
// hold any character but NUL, the separators and ':' (wildcards and control
// characters included, as on NTFS: smbtorture smb2.streams.names).
uint32_t split_stream(std::string& last, smb_name& name) {
    auto colon = last.find(':');
    if (colon == std::string::npos) {
        return status::success;
    }
    std::string rest = last.substr(colon + 1);
    last.resize(colon);
    auto type_colon = rest.find(':');
    std::string stream = rest.substr(0, type_colon);
    if (type_colon != std::string::npos &&
        !ascii_iequals(std::string_view(rest).substr(type_colon + 1), "$DATA")) {
        return status::object_name_invalid;
    }
    if (last.empty() || (stream.empty() && type_colon == std::string::npos)) {
        return status::object_name_invalid;
    }
    if (utf16_units(stream) > max_component_utf16) {
        return status::object_name_invalid;
    }
    for (unsigned char c : stream) {
        if (c == 0 || c == '/' || c == '\\') {
            return status::object_name_invalid;
        }
    }
    name.stream = std::move(stream);
    name.data_suffix = name.stream.empty();
    return status::success;
}

} // namespace

std::string smb_name::relative() const {
    std::string out;
    for (const auto& c : components) {
        if (!out.empty()) {
            out.push_back('/');
        }
        out += c;
    }
    return out;
}

bool is_dos_device_name(std::string_view name) {
    // Windows reserves these with or without an extension ("nul.txt") and ignores
    // trailing spaces before the extension.
    auto base = name.substr(0, name.find('.'));
    while (!base.empty() && base.back() == ' ') {
        base.remove_suffix(1);
    }
    static constexpr std::string_view fixed[] = {"CON",    "PRN",    "AUX",    "NUL",
                                                 "CLOCK$", "CONIN$", "CONOUT$"};
    for (auto f : fixed) {
        if (ascii_iequals(base, f)) {
            return true;
        }
    }
    if (base.size() == 4 && base[3] >= '1' && base[3] <= '9' &&
        (ascii_iequals(base.substr(0, 3), "COM") || ascii_iequals(base.substr(0, 3), "LPT"))) {
        return true;
    }
    return false;
}

uint32_t validate_component(std::string_view name) {
    if (name.empty() || name == ".") {
        return status::object_name_invalid;
    }
    if (name.size() > max_component_bytes || utf16_units(name) > max_component_utf16) {
        return status::object_name_invalid;
    }
    for (unsigned char c : name) {
        if (is_illegal_char(c)) {
            return status::object_name_invalid;
        }
    }
    if (is_dos_device_name(name)) {
        return status::object_name_invalid;
    }
    return status::success;
}

name_parse parse_smb_name(byte_span utf16le, parse_options opts) {
    name_parse out;
    if (utf16le.size() % 2) {
        out.status = status::invalid_parameter;
        return out;
    }
    std::string s;
    if (!utf16le_to_utf8(utf16le, s)) {
        out.status = status::object_name_invalid;
        return out;
    }
    if (s.empty()) {
        return out;
    }
    size_t pos = 0;
    if (s[0] == '\\') {
        if (!opts.allow_leading_separator) {
            out.status = status::invalid_parameter; // MS-SMB2 3.3.5.9
            return out;
        }
        pos = 1;
    }
    if (s.size() > pos && s.back() == '\\') {
        out.name.trailing_separator = true;
        s.pop_back();
    }
    std::vector<std::string> parts;
    while (pos <= s.size()) {
        size_t end = s.find('\\', pos);
        if (end == std::string::npos) {
            end = s.size();
        }
        parts.emplace_back(s.substr(pos, end - pos));
        pos = end + 1;
    }
    if (parts.size() == 1 && parts[0].empty()) {
        parts.clear(); // "\" alone (rename form) names the root
    }
    if (!parts.empty()) {
        if (uint32_t st = split_stream(parts.back(), out.name)) {
            out.status = st;
            return out;
        }
    }
    for (auto& p : parts) {
        if (p == "..") {
            // Never above the root (Samba: OBJECT_PATH_SYNTAX_BAD).
            if (out.name.components.empty()) {
                out.status = status::object_path_syntax_bad;
                return out;
            }
            out.name.components.pop_back();
            continue;
        }
        uint32_t st = validate_component(p);
        if (st != status::success) {
            out.status = st;
            return out;
        }
        out.name.components.push_back(std::move(p));
    }
    return out;
}

int open_beneath(int dirfd, const char* name, int flags, mode_t mode) {
    open_how how{};
    how.flags = uint64_t(flags) | O_CLOEXEC;
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    for (;;) {
        long fd = ::syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
        if (fd < 0 && errno == EAGAIN) {
            continue; // a concurrent rename raced the lookup; retry
        }
        return int(fd);
    }
}

unique_fd open_share_root(const std::string& path) {
    return unique_fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
}

std::optional<std::string> lookup_component(int dirfd, const std::string& name) {
    struct stat st;
    if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        return name;
    }
    if (errno != ENOENT) {
        return std::nullopt;
    }
    int fd = open_beneath(dirfd, ".", O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        return std::nullopt;
    }
    DIR* d = ::fdopendir(fd);
    if (!d) {
        ::close(fd);
        return std::nullopt;
    }
    // Several case variants: take the smallest, so the choice does not depend on the
    // directory's order.
    std::optional<std::string> found;
    while (auto* e = ::readdir(d)) {
        std::string_view n = e->d_name;
        if (n == "." || n == "..") {
            continue;
        }
        if (iequals(n, name) && (!found || n < *found)) {
            found = std::string(n);
        }
    }
    ::closedir(d);
    return found;
}

resolved_path resolve(int root_fd, const smb_name& name) {
    resolved_path out;
    unique_fd cur(open_beneath(root_fd, ".", O_PATH | O_DIRECTORY));
    if (!cur) {
        out.status = errno_to_status(errno);
        return out;
    }
    if (name.is_root()) {
        out.exists = ::fstat(cur.get(), &out.st) == 0;
        out.parent = std::move(cur);
        return out;
    }
    const auto& comps = name.components;
    for (size_t i = 0; i < comps.size(); ++i) {
        auto actual = lookup_component(cur.get(), comps[i]);
        bool last = i + 1 == comps.size();
        if (last) {
            out.leaf = actual.value_or(comps[i]);
            if (!out.relative.empty()) {
                out.relative.push_back('/');
            }
            out.relative += out.leaf;
            if (actual) {
                if (::fstatat(cur.get(), out.leaf.c_str(), &out.st, AT_SYMLINK_NOFOLLOW) != 0) {
                    out.status = errno_to_status(errno);
                    return out;
                }
                if (S_ISLNK(out.st.st_mode)) {
                    out.status = status::access_denied;
                    return out;
                }
                out.exists = true;
            }
            out.parent = std::move(cur);
            return out;
        }
        if (!actual) {
            out.status = status::object_path_not_found;
            return out;
        }
        int fd = open_beneath(cur.get(), actual->c_str(), O_PATH | O_DIRECTORY);
        if (fd < 0) {
            int err = errno;
            out.status = (err == ENOENT || err == ENOTDIR) ? status::object_path_not_found
                                                           : errno_to_status(err);
            return out;
        }
        cur.reset(fd);
        if (!out.relative.empty()) {
            out.relative.push_back('/');
        }
        out.relative += *actual;
    }
    return out;
}

uint32_t errno_to_status(int err) {
    switch (err) {
    case 0:
        return status::success;
    case ENOENT:
        return status::object_name_not_found;
    case ENOTDIR:
        return status::object_path_not_found;
    case EACCES:
    case EPERM:
    case ELOOP: // a symlink under RESOLVE_NO_SYMLINKS
        return status::access_denied;
    case EEXIST:
        return status::object_name_collision;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return status::disk_full;
    case ENOTEMPTY:
        return status::directory_not_empty;
    case EISDIR:
        return status::file_is_a_directory;
    case ENAMETOOLONG:
        return status::object_name_invalid;
    case EROFS:
        return status::media_write_protected;
    case EMFILE:
    case ENFILE:
        return status::too_many_opened_files;
    case ENOMEM:
        return status::no_memory;
    case EXDEV:
        return status::not_same_device;
    case EINVAL:
        return status::invalid_parameter;
    case EBUSY:
    case ETXTBSY:
        return status::sharing_violation;
    case ENOTSUP:
        return status::not_supported;
    case EIO: // the device failed the I/O (MS-ERREF 2.3.1; Samba maps it the same)
        return status::io_device_error;
    default:
        return status::unsuccessful;
    }
}

} // namespace smbx::vfs
