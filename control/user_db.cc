#include "control/user_db.hh"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace smbx {

namespace {

std::string fold(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = char(c - 'A' + 'a');
        }
    }
    return out;
}

std::string errno_text(const std::string& what) {
    return what + ": " + strerror(errno);
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::optional<auth::nt_hash> parse_hash(std::string_view hex) {
    auth::nt_hash h{};
    if (hex.size() != 2 * h.size()) {
        return std::nullopt;
    }
    for (size_t i = 0; i < h.size(); ++i) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        h[i] = uint8_t(hi << 4 | lo);
    }
    return h;
}

std::string to_hex(const auth::nt_hash& h) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (uint8_t b : h) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        data.remove_prefix(size_t(n));
    }
    return true;
}

// Holds an exclusive flock on `<dir>/smbx-users.lock` for its lifetime.
class file_lock {
public:
    explicit file_lock(const std::string& path)
        : _fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
        if (_fd >= 0 && flock(_fd, LOCK_EX) != 0) {
            ::close(_fd);
            _fd = -1;
        }
    }
    ~file_lock() {
        if (_fd >= 0) {
            ::close(_fd); // releases the lock
        }
    }
    file_lock(const file_lock&) = delete;
    file_lock& operator=(const file_lock&) = delete;
    bool ok() const { return _fd >= 0; }

private:
    int _fd;
};

} // namespace

user_db::user_db(std::string private_dir)
    : _dir(std::move(private_dir)), _file(_dir + "/smbx-users") {}

bool user_db::valid_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == ' ' || name.back() == ' ') {
        return false;
    }
    for (unsigned char c : name) {
        // Control characters, and those Windows forbids in account names.
        if (c < 0x20 || c == 0x7f || std::strchr("\"/\\[]:;|=,+*?<>@", c)) {
            return false;
        }
    }
    return true;
}

std::optional<user_db::file_identity> user_db::identity() const {
    struct stat st {};
    if (::stat(_file.c_str(), &st) != 0) {
        return std::nullopt;
    }
    return file_identity{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

user_db::error user_db::load() {
    int fd = ::open(_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            _users.clear();
            _loaded = file_identity{};
            return std::nullopt;
        }
        return errno_text(_file);
    }
    struct stat st {};
    fstat(fd, &st);
    std::string text;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            auto e = errno_text(_file);
            ::close(fd);
            return e;
        }
        if (n == 0) {
            break;
        }
        text.append(buf, size_t(n));
    }
    ::close(fd);

    std::map<std::string, entry> users;
    int line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line(text.data() + pos,
                              (nl == std::string::npos ? text.size() : nl) - pos);
        pos = nl == std::string::npos ? text.size() : nl + 1;
        ++line_no;
        if (line.empty()) {
            continue;
        }
        // The hash never appears in an error message.
        auto colon = line.rfind(':');
        std::string where = _file + ":" + std::to_string(line_no);
        if (colon == std::string_view::npos || !valid_name(line.substr(0, colon))) {
            return where + ": malformed entry";
        }
        auto hash = parse_hash(line.substr(colon + 1));
        if (!hash) {
            return where + ": malformed hash";
        }
        std::string name(line.substr(0, colon));
        if (!users.emplace(fold(name), entry{name, *hash}).second) {
            return where + ": duplicate user '" + name + "'";
        }
    }
    _users = std::move(users);
    _loaded = file_identity{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
    return std::nullopt;
}

user_db::error user_db::refresh() {
    auto now = identity().value_or(file_identity{});
    if (_loaded && *_loaded == now) {
        return std::nullopt;
    }
    return load();
}

std::optional<auth::nt_hash> user_db::lookup(std::string_view name) const {
    auto it = _users.find(fold(name));
    if (it == _users.end()) {
        return std::nullopt;
    }
    return it->second.hash;
}

std::vector<std::string> user_db::names() const {
    std::vector<std::string> out;
    for (const auto& [key, e] : _users) {
        out.push_back(e.name);
    }
    return out;
}

user_db::error user_db::ensure_dir() const {
    // Parents are ordinary directories; the private dir itself is 0700.
    for (size_t slash = _dir.find('/', 1); slash != std::string::npos;
         slash = _dir.find('/', slash + 1)) {
        std::string parent = _dir.substr(0, slash);
        if (::mkdir(parent.c_str(), 0755) != 0 && errno != EEXIST) {
            return errno_text(parent);
        }
    }
    if (::mkdir(_dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return errno_text(_dir);
    }
    return std::nullopt;
}

user_db::error user_db::save() const {
    std::string text;
    for (const auto& [key, e] : _users) {
        text += e.name + ":" + to_hex(e.hash) + "\n";
    }
    std::string tmp = _file + ".tmp." + std::to_string(getpid());
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        return errno_text(tmp);
    }
    // fchmod: the umask may have narrowed (never widened) 0600; make it exact.
    bool ok = fchmod(fd, 0600) == 0 && write_all(fd, text) && fsync(fd) == 0;
    auto e = errno_text(tmp);
    ok = ::close(fd) == 0 && ok;
    if (!ok) {
        ::unlink(tmp.c_str());
        return e;
    }
    if (::rename(tmp.c_str(), _file.c_str()) != 0) {
        e = errno_text(_file);
        ::unlink(tmp.c_str());
        return e;
    }
    // Make the rename itself durable.
    int dfd = ::open(_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        ::close(dfd);
    }
    return std::nullopt;
}

template <typename Change> user_db::error user_db::modify(Change change) {
    if (auto e = ensure_dir()) {
        return e;
    }
    file_lock lock(_dir + "/smbx-users.lock");
    if (!lock.ok()) {
        return errno_text(_dir + "/smbx-users.lock");
    }
    if (auto e = load()) {
        return e;
    }
    if (auto e = change()) {
        return e;
    }
    if (auto e = save()) {
        return e;
    }
    _loaded = identity();
    return std::nullopt;
}

user_db::error user_db::add(std::string_view name, const auth::nt_hash& hash) {
    if (!valid_name(name)) {
        return "invalid user name '" + std::string(name) + "'";
    }
    return modify([&]() -> error {
        if (!_users.emplace(fold(name), entry{std::string(name), hash}).second) {
            return "user '" + std::string(name) + "' already exists";
        }
        return std::nullopt;
    });
}

user_db::error user_db::set_hash(std::string_view name, const auth::nt_hash& hash) {
    return modify([&]() -> error {
        auto it = _users.find(fold(name));
        if (it == _users.end()) {
            return "no such user '" + std::string(name) + "'";
        }
        it->second.hash = hash;
        return std::nullopt;
    });
}

user_db::error user_db::remove(std::string_view name) {
    return modify([&]() -> error {
        if (_users.erase(fold(name)) == 0) {
            return "no such user '" + std::string(name) + "'";
        }
        return std::nullopt;
    });
}

} // namespace smbx
