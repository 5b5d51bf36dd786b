#include "dataplane/vfs/streams.hh"

#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>

#include "common/ntstatus.hh"
#include "dataplane/vfs/name_match.hh"

namespace smbx::vfs {

namespace {

constexpr std::string_view stream_prefix = "user.smbx.stream.";

// Path-based xattr calls through /proc work for every descriptor, O_PATH included.
std::string fd_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

std::string key(const std::string& name) {
    return std::string(stream_prefix) + name;
}

uint32_t stream_errno_status(int err) {
    switch (err) {
    case ENODATA:
        return status::object_name_not_found;
    case ENOSPC:
    case E2BIG:
    case ERANGE:
    case EDQUOT:
        return status::disk_full;
    case ENOTSUP:
        return status::not_supported;
    case EACCES:
    case EPERM:
        return status::access_denied;
    default:
        return status::unsuccessful;
    }
}

std::optional<std::vector<std::string>> stream_names(int fd) {
    std::string path = fd_path(fd);
    std::vector<char> names;
    for (;;) {
        ssize_t n = ::listxattr(path.c_str(), nullptr, 0);
        if (n < 0) {
            return std::nullopt;
        }
        names.resize(size_t(n));
        n = ::listxattr(path.c_str(), names.data(), names.size());
        if (n >= 0) {
            names.resize(size_t(n));
            break;
        }
        if (errno != ERANGE) {
            return std::nullopt;
        }
    }
    std::vector<std::string> out;
    for (size_t pos = 0; pos < names.size();) {
        std::string_view x(names.data() + pos);
        pos += x.size() + 1;
        if (x.starts_with(stream_prefix) && x.size() > stream_prefix.size()) {
            out.emplace_back(x.substr(stream_prefix.size()));
        }
    }
    return out;
}

std::optional<bytes> read_value(int fd, const std::string& name) {
    std::string path = fd_path(fd);
    std::string k = key(name);
    bytes v;
    for (;;) {
        ssize_t n = ::getxattr(path.c_str(), k.c_str(), nullptr, 0);
        if (n < 0) {
            return std::nullopt;
        }
        v.resize(size_t(n));
        n = ::getxattr(path.c_str(), k.c_str(), v.data(), v.size());
        if (n >= 0) {
            v.resize(size_t(n));
            return v;
        }
        if (errno != ERANGE) {
            return std::nullopt;
        }
    }
}

uint32_t write_value(int fd, const std::string& name, const bytes& v, int flags = 0) {
    if (v.size() > max_stream_size) {
        return status::disk_full;
    }
    if (::setxattr(fd_path(fd).c_str(), key(name).c_str(), v.data(), v.size(), flags) != 0) {
        return errno == EEXIST ? status::object_name_collision : stream_errno_status(errno);
    }
    return status::success;
}

} // namespace

std::optional<std::string> find_stream(int fd, std::string_view name) {
    auto names = stream_names(fd);
    if (!names) {
        return std::nullopt;
    }
    for (const auto& n : *names) {
        if (n == name) {
            return n; // the exact name wins over a case variant
        }
    }
    for (const auto& n : *names) {
        if (iequals(n, name)) {
            return n;
        }
    }
    return std::nullopt;
}

std::optional<std::vector<stream_entry>> list_streams(int fd) {
    auto names = stream_names(fd);
    if (!names) {
        return std::nullopt;
    }
    std::vector<stream_entry> out;
    for (auto& n : *names) {
        auto size = stream_size(fd, n);
        if (size) {
            out.push_back({std::move(n), *size});
        }
    }
    std::sort(out.begin(), out.end(),
              [](const stream_entry& a, const stream_entry& b) { return a.name < b.name; });
    return out;
}

uint32_t create_stream(int fd, const std::string& name) {
    return write_value(fd, name, {}, XATTR_CREATE);
}

uint32_t remove_stream(int fd, const std::string& name) {
    if (::removexattr(fd_path(fd).c_str(), key(name).c_str()) != 0) {
        return stream_errno_status(errno);
    }
    return status::success;
}

void remove_streams(int fd) {
    for (const auto& n : stream_names(fd).value_or(std::vector<std::string>{})) {
        remove_stream(fd, n);
    }
}

std::optional<uint64_t> stream_size(int fd, const std::string& name) {
    ssize_t n = ::getxattr(fd_path(fd).c_str(), key(name).c_str(), nullptr, 0);
    if (n < 0) {
        return std::nullopt;
    }
    return uint64_t(n);
}

uint32_t read_stream(int fd, const std::string& name, uint64_t offset, uint32_t length,
                     bytes& out) {
    auto v = read_value(fd, name);
    if (!v) {
        return stream_errno_status(errno);
    }
    out.clear();
    if (offset < v->size()) {
        size_t n = std::min<uint64_t>(length, v->size() - offset);
        out.assign(v->begin() + ptrdiff_t(offset), v->begin() + ptrdiff_t(offset + n));
    }
    return status::success;
}

uint32_t write_stream(int fd, const std::string& name, uint64_t offset, byte_span data) {
    if (data.empty()) {
        return status::success;
    }
    if (offset > max_stream_size || data.size() > max_stream_size - offset) {
        return status::disk_full;
    }
    auto v = read_value(fd, name);
    if (!v) {
        return stream_errno_status(errno);
    }
    if (v->size() < offset + data.size()) {
        v->resize(offset + data.size());
    }
    std::copy(data.begin(), data.end(), v->begin() + ptrdiff_t(offset));
    return write_value(fd, name, *v);
}

uint32_t truncate_stream(int fd, const std::string& name, uint64_t size) {
    if (size > max_stream_size) {
        return status::disk_full;
    }
    auto v = read_value(fd, name);
    if (!v) {
        return stream_errno_status(errno);
    }
    if (v->size() == size) {
        return status::success;
    }
    v->resize(size);
    return write_value(fd, name, *v);
}

} // namespace smbx::vfs
