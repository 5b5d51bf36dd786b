#include "control/listen_sockets.hh"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace smbx {

namespace {

std::string format_address(const sockaddr_in& a) {
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
}

} // namespace

bool set_cloexec(int fd, bool on) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) {
        return false;
    }
    flags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
    return fcntl(fd, F_SETFD, flags) == 0;
}

listen_result open_listen_sockets(const config::server_config& cfg) {
    listen_result r;
    for (const auto& itf : cfg.interfaces) {
        for (uint16_t port : cfg.ports) {
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(port);
            inet_pton(AF_INET, itf.address.c_str(), &a.sin_addr); // validated by config
            std::string name = format_address(a);
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            int one = 1;
            const char* step = "socket";
            bool ok = fd >= 0;
            if (ok) {
                step = "setsockopt(SO_REUSEADDR)";
                ok = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0;
            }
            if (ok) {
                step = "bind";
                // The listening socket of an instance that just stopped can outlive its
                // process for a moment (io_uring releases the files of a ring's pending
                // accept after the exit, asynchronously): a quick restart waits up to
                // 5 s for the address instead of failing.
                for (int waited = 0;; ++waited) {
                    ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
                    if (ok || errno != EADDRINUSE || waited == 50) {
                        break;
                    }
                    usleep(100 * 1000);
                }
            }
            if (ok) {
                step = "listen";
                ok = listen(fd, 128) == 0;
            }
            if (!ok) {
                r.error = name + ": " + step + ": " + strerror(errno);
                if (fd >= 0) {
                    close(fd);
                }
                for (auto& s : r.sockets) {
                    close(s.fd);
                }
                r.sockets.clear();
                return r;
            }
            r.sockets.push_back({fd, name});
        }
    }
    return r;
}

std::string socket_address(int fd) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0 || a.sin_family != AF_INET) {
        return "?";
    }
    return format_address(a);
}

} // namespace smbx
