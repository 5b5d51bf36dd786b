// The listening TCP sockets, created by smbx-control and inherited by the data plane.
// Control owns them so that a restarted data plane (or a re-exec'd control) keeps the
// same sockets: connections queued in the backlog while the data plane restarts are
// accepted as soon as it is back.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "control/config.hh"

namespace smbx {

struct listen_socket {
    int fd = -1;
    std::string address; // "a.b.c.d:port", for logs
};

struct listen_result {
    std::vector<listen_socket> sockets;
    std::string error; // empty on success; on failure no socket is left open
};

// One IPv4 socket per `interfaces` entry x `smb ports` entry: SO_REUSEADDR, backlog
// 128, close-on-exec (cleared only on the fds handed to a child right before exec). An
// address in use is tried again for up to 5 s (a restart right after a stop).
listen_result open_listen_sockets(const config::server_config& cfg);

// For sockets inherited across exec: the bound address, or "?" if fd is not a socket.
std::string socket_address(int fd);

// Set or clear FD_CLOEXEC. Async-signal-safe (used between fork and exec).
bool set_cloexec(int fd, bool on);

} // namespace smbx
