// smbx-control's side of the control channel: drains the to_control ring, answers
// each request (authentication, tree connect, share enumeration, oplock and lease
// arbitration) with a reply of the same id on the to_dataplane ring, and wakes the
// data plane. It also asks the data plane for its status on behalf of the admin
// socket, and sends the lease breaks and releases the arbiter decides.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>

#include "common/control_channel.hh"
#include "common/ipc_messages.hh"
#include "control/config.hh"
#include "control/leases/lease_service.hh"

namespace smbx {

// The authentication back end (smbx::auth::authenticator in production).
struct auth_backend {
    std::function<ipc::auth_reply(const ipc::auth_request&)> step;
    std::function<void(uint64_t auth_id)> abandon;
};

class control_service {
public:
    control_service(const config::server_config& cfg, auth_backend auth, control_channel& channel,
                    int wake_control_fd, int wake_dataplane_fd);

    // Answer everything queued on to_control (call when wake_control is readable).
    void on_wake();
    // The data plane died: drop whatever either ring still holds for or from it, and
    // every open it had (the arbiter's owners with them).
    void reset_rings();
    // Time-driven work (call at least once a second): lease breaks whose
    // acknowledgement is overdue end, and the opens waiting on them are released.
    void tick(std::chrono::steady_clock::time_point now);

    // Ask the data plane for its sessions and opens; keeps answering other requests
    // while waiting. nullopt if no reply came within the timeout.
    std::optional<ipc::status_reply> query_status(std::chrono::milliseconds timeout);

    // The policy behind the replies (public for tests).
    ipc::tree_connect_reply tree_connect(const ipc::tree_connect_request& req) const;
    ipc::share_enum_reply share_enum() const;

    int wake_control_fd() const { return _wake_control_fd; }
    // Oplock and lease arbitration, for the handover across a SIGHUP re-exec.
    leases::lease_service& leases() { return _leases; }

private:
    void handle(const bytes& message);
    bool send(const bytes& message);
    ipc::share_info share_info_of(const config::share_config& s) const;

    const config::server_config& _cfg;
    auth_backend _auth;
    control_channel& _channel;
    int _wake_control_fd;
    int _wake_dataplane_fd;
    uint64_t _next_id = 1;
    // A status reply being put together from its parts; `done` once the last came.
    struct status_waiting {
        ipc::status_reply reply;
        bool done = false;
    };
    std::map<uint64_t, status_waiting> _status_waiting;
    leases::lease_service _leases;
};

// The built-in IPC$ share (MS-SRVS STYPE_IPC), present whatever the configuration says.
ipc::share_info ipc_share();

} // namespace smbx
