#include "dataplane/vfs/extended_attributes.hh"

#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/ntstatus.hh"

namespace smbx::vfs {

namespace {

constexpr std::string_view ea_prefix = "user.smbx.ea.";
constexpr size_t full_ea_header = 8; // NextEntryOffset, Flags, EaNameLength, EaValueLength
constexpr size_t get_ea_header = 5;  // NextEntryOffset, EaNameLength

std::string fd_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

uint32_t ea_errno_status(int err) {
    switch (err) {
    case ENOTSUP:
        return status::eas_not_supported;
    case ENOSPC:
    case E2BIG:
    case ERANGE:
    case EDQUOT:
        return status::ea_too_large;
    case EACCES:
    case EPERM:
        return status::access_denied;
    default:
        return status::unsuccessful;
    }
}

// Reads every "user.smbx.ea.*" xattr of `path`; `follow` = false: not through a
// final symlink (the directory-listing case).
std::optional<std::vector<ea_entry>> read_eas(const std::string& path, bool follow) {
    auto list_fn = follow ? ::listxattr : ::llistxattr;
    auto get_fn = follow ? ::getxattr : ::lgetxattr;
    std::vector<char> names;
    for (;;) {
        ssize_t n = list_fn(path.c_str(), nullptr, 0);
        if (n < 0) {
            return std::nullopt;
        }
        names.resize(size_t(n));
        n = list_fn(path.c_str(), names.data(), names.size());
        if (n >= 0) {
            names.resize(size_t(n));
            break;
        }
        if (errno != ERANGE) {
            return std::nullopt;
        }
    }
    std::vector<ea_entry> out;
    for (size_t pos = 0; pos < names.size();) {
        std::string_view xname(names.data() + pos);
        pos += xname.size() + 1;
        if (!xname.starts_with(ea_prefix) || xname.size() == ea_prefix.size()) {
            continue;
        }
        std::string key(xname);
        ea_entry e;
        e.name = key.substr(ea_prefix.size());
        for (;;) {
            ssize_t n = get_fn(path.c_str(), key.c_str(), nullptr, 0);
            if (n < 0) {
                break; // removed meanwhile
            }
            e.value.resize(size_t(n));
            n = get_fn(path.c_str(), key.c_str(), e.value.data(), e.value.size());
            if (n >= 0) {
                e.value.resize(size_t(n));
                if (!e.value.empty()) {
                    out.push_back(std::move(e));
                }
                break;
            }
            if (errno != ERANGE) {
                break;
            }
        }
    }
    std::sort(out.begin(), out.end(),
              [](const ea_entry& a, const ea_entry& b) { return a.name < b.name; });
    return out;
}

} // namespace

bool valid_ea_name(std::string_view name) {
    if (name.empty() || name.size() > max_ea_name) {
        return false;
    }
    for (unsigned char c : name) {
        if (c < 0x20 || std::strchr("\"*+,/:;<=>?[\\]|", c)) {
            return false;
        }
    }
    return true;
}

std::string upcase_ea_name(std::string_view name) {
    std::string out(name);
    for (auto& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = char(c - 0x20);
        }
    }
    return out;
}

ea_list_parse parse_full_ea_list(byte_span buf) {
    ea_list_parse out;
    size_t pos = 0;
    while (pos < buf.size()) {
        byte_reader r(buf.subspan(pos));
        uint32_t next = r.u32();
        uint8_t flags = r.u8();
        uint8_t name_length = r.u8();
        uint16_t value_length = r.u16();
        auto name = r.take(name_length);
        r.u8(); // the name's terminating NUL
        auto value = r.take(value_length);
        size_t entry = full_ea_header + name_length + 1 + value_length;
        // MS-FSCC 2.4.15: entries are 4-byte aligned and the chain stays inside the
        // buffer.
        if (!r.ok() || (next && (next < entry || next % 4 || next > buf.size() - pos))) {
            out.status = status_ea_list_inconsistent;
            out.error_offset = uint32_t(pos);
            return out;
        }
        ea_entry e;
        e.flags = flags;
        e.name.assign(reinterpret_cast<const char*>(name.data()), name.size());
        e.value.assign(value.begin(), value.end());
        if (!valid_ea_name(e.name)) {
            out.status = status_invalid_ea_name;
            out.error_offset = uint32_t(pos);
            return out;
        }
        out.eas.push_back(std::move(e));
        if (!next) {
            return out;
        }
        pos += next;
    }
    out.status = status_ea_list_inconsistent; // empty, or no entry ends the chain
    out.error_offset = uint32_t(pos);
    return out;
}

std::optional<std::vector<std::string>> parse_get_ea_list(byte_span buf) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < buf.size()) {
        byte_reader r(buf.subspan(pos));
        uint32_t next = r.u32();
        uint8_t name_length = r.u8();
        auto name = r.take(name_length);
        r.u8(); // the name's terminating NUL
        size_t entry = get_ea_header + name_length + 1;
        if (!r.ok() || (next && (next < entry || next > buf.size() - pos))) {
            return std::nullopt;
        }
        out.emplace_back(reinterpret_cast<const char*>(name.data()), name.size());
        if (!next) {
            return out;
        }
        pos += next;
    }
    return std::nullopt;
}

uint32_t set_eas(int fd, const std::vector<ea_entry>& eas) {
    std::string path = fd_path(fd);
    for (const auto& e : eas) {
        if (!valid_ea_name(e.name)) {
            return status_invalid_ea_name;
        }
        if (e.value.size() > max_ea_value) {
            return status::ea_too_large;
        }
        std::string key = std::string(ea_prefix) + upcase_ea_name(e.name);
        if (e.value.empty()) {
            if (::removexattr(path.c_str(), key.c_str()) != 0 && errno != ENODATA) {
                return ea_errno_status(errno);
            }
            continue;
        }
        if (::setxattr(path.c_str(), key.c_str(), e.value.data(), e.value.size(), 0) != 0) {
            return ea_errno_status(errno);
        }
    }
    return status::success;
}

std::optional<std::vector<ea_entry>> list_eas(int fd) {
    return read_eas(fd_path(fd), true);
}

std::optional<std::vector<ea_entry>> list_eas_at(int dirfd, const char* name) {
    return read_eas(fd_path(dirfd) + "/" + name, false);
}

size_t full_ea_size(const ea_entry& e) {
    return full_ea_header + e.name.size() + 1 + e.value.size();
}

uint32_t ea_list_size(const std::vector<ea_entry>& eas) {
    size_t total = 0;
    for (const auto& e : eas) {
        total += (full_ea_size(e) + 3) & ~size_t(3);
    }
    return uint32_t(total);
}

void put_full_ea(byte_writer& w, const ea_entry& e) {
    w.u32(0);
    w.u8(e.flags);
    w.u8(uint8_t(e.name.size()));
    w.u16(uint16_t(e.value.size()));
    w.put(e.name.data(), e.name.size());
    w.u8(0);
    w.put(e.value);
}

} // namespace smbx::vfs
