#include "control/admin_socket.hh"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include "common/log.hh"

namespace smbx {

namespace {

std::optional<sockaddr_un> unix_address(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) {
        return std::nullopt;
    }
    std::memcpy(a.sun_path, path.c_str(), path.size() + 1);
    return a;
}

int connect_to(const sockaddr_un& a) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (connect(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
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

// Reads until EOF (or `stop_at_newline` and a newline), the size limit, or the deadline.
// With `stop_at_newline`, a line of `limit` bytes or more (newline excluded) is refused.
std::optional<std::string> read_until(int fd, bool stop_at_newline, size_t limit,
                                      std::chrono::steady_clock::time_point deadline) {
    std::string out;
    char buf[4096];
    while (out.size() < limit) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        if (left.count() <= 0 || poll(&p, 1, int(left.count())) <= 0) {
            return std::nullopt;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return std::nullopt;
        }
        if (n == 0) {
            return out;
        }
        out.append(buf, size_t(n));
        if (size_t nl = stop_at_newline ? out.find('\n') : std::string::npos;
            nl != std::string::npos) {
            // A line is held to the limit however it arrived: whole in one read or not.
            if (nl >= limit) {
                return std::nullopt;
            }
            return out.substr(0, nl);
        }
    }
    return std::nullopt;
}

std::string pad(std::string s, size_t width) {
    if (s.size() < width) {
        s.append(width - s.size(), ' ');
    }
    return s;
}

// Left-aligned columns, two spaces apart, the header row first.
std::string table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> width;
    for (const auto& r : rows) {
        width.resize(std::max(width.size(), r.size()));
        for (size_t i = 0; i < r.size(); ++i) {
            width[i] = std::max(width[i], r[i].size());
        }
    }
    std::string out;
    for (const auto& r : rows) {
        std::string line = " ";
        for (size_t i = 0; i < r.size(); ++i) {
            line += " " + (i + 1 < r.size() ? pad(r[i], width[i]) + " " : r[i]);
        }
        out += line + "\n";
    }
    return out;
}

} // namespace

admin_open_result open_admin_socket(const std::string& path) {
    admin_open_result r;
    auto a = unix_address(path);
    if (!a) {
        r.error = path + ": path too long for a unix socket";
        return r;
    }
    int live = connect_to(*a);
    if (live >= 0) {
        close(live);
        r.error = path + ": another smbx-control is already running";
        return r;
    }
    unlink(path.c_str()); // a stale socket from a process that died
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        r.error = std::string("socket: ") + strerror(errno);
        return r;
    }
    // The umask makes the socket 0600 from birth; chmod makes sure.
    mode_t old = umask(0177);
    bool ok = bind(fd, reinterpret_cast<sockaddr*>(&*a), sizeof *a) == 0;
    umask(old);
    ok = ok && chmod(path.c_str(), 0600) == 0 && listen(fd, 16) == 0;
    if (!ok) {
        r.error = path + ": " + strerror(errno);
        close(fd);
        return r;
    }
    r.socket.emplace(fd, path);
    return r;
}

void admin_socket::serve_one(const std::function<std::string(std::string_view)>& handler) {
    int c = accept4(_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
        return;
    }
    ucred cred{};
    socklen_t len = sizeof cred;
    if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
        (cred.uid != 0 && cred.uid != geteuid())) {
        LOG_WARN("admin socket: refused a client running as uid %u", unsigned(cred.uid));
        close(c);
        return;
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    auto command = read_until(c, true, 256, deadline);
    if (command) {
        std::string_view cmd = *command;
        if (!cmd.empty() && cmd.back() == '\r') {
            cmd.remove_suffix(1);
        }
        LOG_DEBUG("admin socket: command '%.*s'", int(cmd.size()), cmd.data());
        timeval tv{2, 0}; // a client that stops reading cannot stall control for long
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        write_all(c, handler(cmd));
    }
    close(c);
}

admin_answer admin_request(const std::string& path, std::string_view command,
                           std::chrono::milliseconds timeout) {
    admin_answer r;
    auto a = unix_address(path);
    if (!a) {
        r.text = path + ": path too long for a unix socket";
        return r;
    }
    int fd = connect_to(*a);
    if (fd < 0) {
        r.text = path + ": " + strerror(errno) + " (is smbx-control running?)";
        return r;
    }
    std::string line = std::string(command) + "\n";
    if (!write_all(fd, line)) {
        r.text = path + ": " + strerror(errno);
        close(fd);
        return r;
    }
    auto answer = read_until(fd, false, 16 << 20, std::chrono::steady_clock::now() + timeout);
    close(fd);
    if (!answer) {
        r.text = "no answer from smbx-control";
        return r;
    }
    r.ok = true;
    r.text = std::move(*answer);
    return r;
}

std::string session_id_text(uint64_t id) {
    char buf[32];
    snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(id));
    return buf;
}

std::string dialect_name(uint16_t d) {
    switch (d) {
    case 0x0202:
        return "2.0.2";
    case 0x0210:
        return "2.1";
    case 0x0300:
        return "3.0";
    case 0x0302:
        return "3.0.2";
    case 0x0311:
        return "3.1.1";
    default: {
        char buf[16];
        snprintf(buf, sizeof buf, "0x%04x", d);
        return buf;
    }
    }
}

std::string format_status(const ipc::status_reply& s) {
    std::string out = "sessions: " + std::to_string(s.sessions.size()) + "\n";
    if (!s.sessions.empty()) {
        std::vector<std::vector<std::string>> rows{
            {"SESSION", "USER", "CLIENT", "DIALECT", "SIGNING", "ENCRYPTION"}};
        for (const auto& x : s.sessions) {
            rows.push_back({session_id_text(x.session_id), x.user.empty() ? "(anonymous)" : x.user,
                            x.client_address, dialect_name(x.dialect), x.signing ? "yes" : "no",
                            x.encryption ? "yes" : "no"});
        }
        out += table(rows);
    }
    out += "open files: " + std::to_string(s.opens.size()) + "\n";
    if (!s.opens.empty()) {
        std::vector<std::vector<std::string>> rows{{"SESSION", "SHARE", "PATH", "CACHING"}};
        for (const auto& o : s.opens) {
            rows.push_back({session_id_text(o.session_id), o.share, o.path.empty() ? "\\" : o.path,
                            o.caching.empty() ? "-" : o.caching});
        }
        out += table(rows);
    }
    if (!s.counters.empty()) {
        out += "data path:\n";
        for (const auto& [name, value] : s.counters) {
            out += "  " + name + " " + std::to_string(value) + "\n";
        }
    }
    return out;
}

} // namespace smbx
