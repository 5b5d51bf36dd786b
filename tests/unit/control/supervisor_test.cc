#include "control/supervisor.hh"

#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

using smbx::supervisor;
using namespace std::chrono_literals;

namespace {

// A shell script stands in for the data plane.
supervisor::launch shell(const std::string& script, std::vector<int> fds = {}) {
    return {"/bin/sh", {"-c", script}, std::move(fds)};
}

// Poll reap() until our child exited or the time is up.
bool wait_exit(supervisor& s, std::chrono::milliseconds limit = 5000ms) {
    auto end = supervisor::clock::now() + limit;
    while (supervisor::clock::now() < end) {
        if (s.reap()) {
            return true;
        }
        std::this_thread::sleep_for(5ms);
    }
    return false;
}

} // namespace

TEST(supervisor, starts_child_and_reports_exit) {
    supervisor s(shell("exit 3"));
    ASSERT_TRUE(s.start());
    EXPECT_GT(s.pid(), 0);
    ASSERT_TRUE(wait_exit(s));
    EXPECT_EQ(s.pid(), -1);
    EXPECT_TRUE(WIFEXITED(s.last_wait_status()));
    EXPECT_EQ(WEXITSTATUS(s.last_wait_status()), 3);
    s.stop(100ms);
}

TEST(supervisor, restarts_with_growing_backoff) {
    supervisor s(shell("exit 1"));
    ASSERT_TRUE(s.start());
    EXPECT_EQ(s.timeout_ms(), -1);
    ASSERT_TRUE(wait_exit(s));
    // First restart after 0.2 s.
    int t = s.timeout_ms();
    EXPECT_GT(t, 100);
    EXPECT_LE(t, 200);
    EXPECT_EQ(s.next_backoff(), 400ms);
    s.tick(); // too early: nothing happens
    EXPECT_EQ(s.pid(), -1);
    std::this_thread::sleep_for(std::chrono::milliseconds(s.timeout_ms() + 5));
    s.tick();
    EXPECT_GT(s.pid(), 0);
    ASSERT_TRUE(wait_exit(s));
    t = s.timeout_ms();
    EXPECT_GT(t, 300);
    EXPECT_LE(t, 400);
    EXPECT_EQ(s.next_backoff(), 800ms);
    s.stop(100ms);
    EXPECT_EQ(s.timeout_ms(), -1);
}

TEST(supervisor, backoff_caps_at_five_seconds) {
    supervisor s(shell("exit 0"));
    for (int i = 0; i < 8; ++i) {
        ASSERT_TRUE(s.start());
        ASSERT_TRUE(wait_exit(s));
    }
    EXPECT_EQ(s.next_backoff(), supervisor::max_backoff);
    EXPECT_LE(s.timeout_ms(), 5000);
    s.stop(100ms);
}

TEST(supervisor, passes_exactly_the_listed_fds) {
    int passed = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int kept = open("/dev/null", O_RDONLY); // not close-on-exec, still not passed
    ASSERT_GE(passed, 0);
    ASSERT_GE(kept, 0);
    // Exit 0 only if `passed` is open and `kept` is not.
    auto script = "test -e /proc/self/fd/" + std::to_string(passed) +
                  " && ! test -e /proc/self/fd/" + std::to_string(kept);
    supervisor s(shell(script, {passed}));
    ASSERT_TRUE(s.start());
    ASSERT_TRUE(wait_exit(s));
    EXPECT_TRUE(WIFEXITED(s.last_wait_status()));
    EXPECT_EQ(WEXITSTATUS(s.last_wait_status()), 0);
    // The parent's copy stays close-on-exec.
    EXPECT_TRUE(fcntl(passed, F_GETFD) & FD_CLOEXEC);
    EXPECT_FALSE(fcntl(kept, F_GETFD) & FD_CLOEXEC);
    s.stop(100ms);
    close(passed);
    close(kept);
}

TEST(supervisor, stop_terminates_running_child) {
    supervisor s(shell("exec sleep 30"));
    ASSERT_TRUE(s.start());
    pid_t pid = s.pid();
    auto t0 = supervisor::clock::now();
    s.stop(2000ms);
    EXPECT_LT(supervisor::clock::now() - t0, 1500ms);
    EXPECT_EQ(s.pid(), -1);
    EXPECT_TRUE(WIFSIGNALED(s.last_wait_status()));
    EXPECT_EQ(WTERMSIG(s.last_wait_status()), SIGTERM);
    EXPECT_NE(kill(pid, 0), 0);
    EXPECT_EQ(s.timeout_ms(), -1);
}

TEST(supervisor, stop_kills_child_ignoring_sigterm) {
    supervisor s(shell("trap '' TERM; while :; do sleep 0.05; done"));
    ASSERT_TRUE(s.start());
    std::this_thread::sleep_for(100ms); // let the trap be installed
    s.stop(300ms);
    EXPECT_EQ(s.pid(), -1);
    EXPECT_TRUE(WIFSIGNALED(s.last_wait_status()));
    EXPECT_EQ(WTERMSIG(s.last_wait_status()), SIGKILL);
}

TEST(supervisor, adopt_reaps_an_already_exited_child) {
    supervisor s(shell("exit 0"));
    pid_t child = fork();
    if (child == 0) {
        _exit(5);
    }
    std::this_thread::sleep_for(50ms);
    s.adopt(child);
    EXPECT_EQ(s.pid(), -1);
    EXPECT_EQ(WEXITSTATUS(s.last_wait_status()), 5);
    EXPECT_GE(s.timeout_ms(), 0); // restart scheduled
    s.stop(100ms);
}

TEST(supervisor, missing_program_exits_and_is_retried) {
    supervisor s({"/nonexistent/smbx-dataplane", {}, {}});
    ASSERT_TRUE(s.start());
    ASSERT_TRUE(wait_exit(s));
    EXPECT_EQ(WEXITSTATUS(s.last_wait_status()), 127);
    EXPECT_GE(s.timeout_ms(), 0);
    s.stop(100ms);
}
