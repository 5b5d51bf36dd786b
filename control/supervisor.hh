// Runs the data plane as a child of smbx-control and keeps it running: a child that
// exits or dies is restarted after a back-off (0.2 s doubling to 5 s, back to 0.2 s
// once a child has run for 30 s). The caller's event loop calls reap() on SIGCHLD and
// tick() when timeout_ms() expires; nothing here blocks except stop().
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>
#include <vector>

namespace smbx {

class supervisor {
public:
    using clock = std::chrono::steady_clock;

    struct launch {
        std::string program;
        std::vector<std::string> args; // after argv[0]
        std::vector<int> inherit_fds;  // FD_CLOEXEC is cleared on these in the child only
    };

    explicit supervisor(launch l) : _launch(std::move(l)) {}

    // Fork and exec the child now. False (and a restart is scheduled) if fork fails.
    bool start();
    // Take over a child started by an earlier image of this process (after re-exec:
    // exec keeps the pid, so it is still our child).
    void adopt(pid_t pid);
    // Collect exited children; true if ours exited (a restart is then scheduled).
    bool reap();
    // Milliseconds until a scheduled restart, or -1 if none is pending.
    int timeout_ms() const;
    // Restart the child if its back-off has elapsed.
    void tick();
    // SIGTERM the child, wait up to `grace`, then SIGKILL; no restart afterwards.
    void stop(std::chrono::milliseconds grace);

    pid_t pid() const { return _pid; }
    int last_wait_status() const { return _last_status; }
    std::chrono::milliseconds next_backoff() const { return _backoff; }

    static constexpr std::chrono::milliseconds min_backoff{200};
    static constexpr std::chrono::milliseconds max_backoff{5000};
    static constexpr std::chrono::seconds healthy_run{30};

private:
    void schedule_restart();

    launch _launch;
    pid_t _pid = -1;
    clock::time_point _started{};
    bool _restart_pending = false;
    bool _stopped = false;
    clock::time_point _restart_at{};
    std::chrono::milliseconds _backoff = min_backoff;
    int _last_status = 0;
};

} // namespace smbx
