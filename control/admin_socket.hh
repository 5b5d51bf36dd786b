// The admin socket: a unix stream socket `<private dir>/smbx-admin.sock`, mode 0600,
// through which smbxctl talks to the running smbx-control. One request per
// connection: a command line ("status\n"), then the answer as text until EOF.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/ipc_messages.hh"

namespace smbx {

class admin_socket {
public:
    // A listening socket: from open_admin_socket(), or inherited across re-exec.
    admin_socket(int fd, std::string path) : _fd(fd), _path(std::move(path)) {}

    int fd() const { return _fd; }
    const std::string& path() const { return _path; }

    // Accept one client (if any is waiting), read its command line within a second,
    // write handler(command) back and close. Clients running as another user than
    // this process (root excepted) are turned away.
    void serve_one(const std::function<std::string(std::string_view command)>& handler);

private:
    int _fd = -1;
    std::string _path;
};

struct admin_open_result {
    std::optional<admin_socket> socket;
    std::string error;
};
// Bind and listen at path (a stale socket file is replaced; a live one, i.e. another
// smbx-control, is an error). The socket is close-on-exec and non-blocking.
admin_open_result open_admin_socket(const std::string& path);

struct admin_answer {
    bool ok = false;
    std::string text; // the answer, or why there is none
};
// Client side (smbxctl): send one command and read the answer.
admin_answer admin_request(const std::string& path, std::string_view command,
                           std::chrono::milliseconds timeout);

// The status table smbxctl prints: sessions, then open files.
std::string format_status(const ipc::status_reply& s);
std::string dialect_name(uint16_t dialect); // 0x0311 -> "3.1.1"
std::string session_id_text(uint64_t id);   // 0x0000000000000001

} // namespace smbx
