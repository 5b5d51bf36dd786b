#include "control/supervisor.hh"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "common/log.hh"

namespace smbx {

namespace {

std::string describe_exit(int status) {
    if (WIFEXITED(status)) {
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
    }
    return "stopped";
}

} // namespace

bool supervisor::start() {
    // Everything the child needs is built before fork: after fork only
    // async-signal-safe calls are made.
    std::vector<std::string> argv_store;
    argv_store.push_back(_launch.program);
    argv_store.insert(argv_store.end(), _launch.args.begin(), _launch.args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    pid_t parent = getpid();

    pid_t pid = fork();
    if (pid < 0) {
        LOG_ERROR("cannot start data plane: fork: %s", strerror(errno));
        schedule_restart();
        return false;
    }
    if (pid == 0) {
        // The data plane goes when control goes (re-exec is not a death).
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) {
            _exit(127);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        signal(SIGPIPE, SIG_DFL);
        // Exactly the listed descriptors reach the data plane: anything this process
        // itself inherited without close-on-exec is not passed on.
        close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
        for (int fd : _launch.inherit_fds) {
            int flags = fcntl(fd, F_GETFD);
            if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) != 0) {
                _exit(126);
            }
        }
        execv(argv[0], argv.data());
        const char msg[] = "smbx-control: cannot exec the data plane\n";
        ssize_t r = write(2, msg, sizeof msg - 1);
        (void)r;
        _exit(127);
    }
    _pid = pid;
    _started = clock::now();
    _restart_pending = false;
    LOG_NOTICE("data plane %s started, pid %d", _launch.program.c_str(), int(pid));
    return true;
}

void supervisor::adopt(pid_t pid) {
    _pid = pid;
    _started = clock::now();
    _restart_pending = false;
    // It may have exited while this process was exec'ing.
    reap();
}

bool supervisor::reap() {
    bool ours = false;
    for (;;) {
        int status = 0;
        pid_t p = waitpid(-1, &status, WNOHANG);
        if (p <= 0) {
            break;
        }
        if (p != _pid) {
            continue; // not ours (nothing else should be a child; reap it anyway)
        }
        ours = true;
        _last_status = status;
        _pid = -1;
        auto ran = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - _started);
        if (_stopped) {
            LOG_NOTICE("data plane pid %d %s", int(p), describe_exit(status).c_str());
            continue;
        }
        if (ran >= healthy_run) {
            _backoff = min_backoff;
        }
        LOG_ERROR("data plane pid %d %s after %.1f s; restarting in %.1f s", int(p),
                  describe_exit(status).c_str(), ran.count() / 1000.0, _backoff.count() / 1000.0);
        schedule_restart();
    }
    return ours;
}

void supervisor::schedule_restart() {
    if (_stopped) {
        return;
    }
    _restart_pending = true;
    _restart_at = clock::now() + _backoff;
    _backoff = std::min(_backoff * 2, max_backoff);
}

int supervisor::timeout_ms() const {
    if (!_restart_pending) {
        return -1;
    }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(_restart_at - clock::now());
    return left.count() < 0 ? 0 : int(left.count());
}

void supervisor::tick() {
    if (_restart_pending && !_stopped && clock::now() >= _restart_at) {
        start();
    }
}

void supervisor::stop(std::chrono::milliseconds grace) {
    _stopped = true;
    _restart_pending = false;
    if (_pid <= 0) {
        return;
    }
    pid_t pid = _pid;
    kill(pid, SIGTERM);
    auto deadline = clock::now() + grace;
    while (clock::now() < deadline) {
        if (reap()) {
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    LOG_WARN("data plane pid %d ignored SIGTERM for %.1f s; SIGKILL", int(pid),
             grace.count() / 1000.0);
    kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    _last_status = status;
    _pid = -1;
}

} // namespace smbx
