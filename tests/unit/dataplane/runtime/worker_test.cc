// Workers: pollers are polled on the worker's pinned thread; an adaptive worker sleeps
// when idle and wakes for its wait fd or for wake(); a polling worker never sleeps.
#include "dataplane/runtime/worker.hh"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

using namespace smbx;
using namespace std::chrono_literals;

namespace {

// Work arrives as eventfd counts (from "hardware") or as a flag (from another thread).
struct counting_poller : poller {
    int efd = eventfd(0, EFD_NONBLOCK);
    std::atomic<bool> flag{false};
    std::atomic<int> done{0};
    std::atomic<int> cpu{-1};
    ~counting_poller() override { close(efd); }
    unsigned poll() override {
        cpu = sched_getcpu();
        unsigned work = 0;
        uint64_t v;
        if (read(efd, &v, sizeof v) == sizeof v) {
            done += int(v);
            work += unsigned(v);
        }
        if (flag.exchange(false)) {
            ++done;
            ++work;
        }
        return work;
    }
    int wait_fd() override { return efd; }
    bool before_sleep() override { return !flag.load(); }
};

bool wait_for(const std::function<bool()>& pred) {
    for (int i = 0; i < 300; ++i) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return pred();
}

} // namespace

TEST(worker, adaptive_worker_sleeps_and_wakes_for_its_fd_and_for_wake) {
    counting_poller p;
    auto cpus = worker::allowed_cpus();
    ASSERT_FALSE(cpus.empty());
    worker w(0, cpus.back(), idle_policy::adaptive);
    w.add_poller(&p);
    w.start();
    ASSERT_TRUE(wait_for([&] { return w.sleeps() > 0; })) << "an idle adaptive worker sleeps";
    uint64_t one = 1;
    ASSERT_EQ(write(p.efd, &one, sizeof one), 8);
    EXPECT_TRUE(wait_for([&] { return p.done.load() == 1; })) << "the wait fd wakes it";
    p.flag = true;
    w.wake();
    EXPECT_TRUE(wait_for([&] { return p.done.load() == 2; })) << "wake() wakes it";
    EXPECT_EQ(p.cpu.load(), cpus.back()) << "pinned to its CPU";
    w.stop();
    w.join();
}

TEST(worker, polling_worker_never_sleeps) {
    counting_poller p;
    worker w(1, -1, idle_policy::poll);
    w.add_poller(&p);
    w.start();
    std::this_thread::sleep_for(100ms);
    p.flag = true;
    EXPECT_TRUE(wait_for([&] { return p.done.load() == 1; }));
    EXPECT_EQ(w.sleeps(), 0u);
    w.stop();
    w.join();
}

// worker::current() names the worker on its own thread (smb_server picks the helper
// pool of the connection's worker by it), and nothing on any other thread.
TEST(worker, current_is_the_worker_on_its_thread_only) {
    struct current_poller : poller {
        std::atomic<worker*> seen{nullptr};
        unsigned poll() override {
            seen = worker::current();
            return 0;
        }
    } p;
    worker w(3, -1, idle_policy::poll);
    w.add_poller(&p);
    w.start();
    EXPECT_TRUE(wait_for([&] { return p.seen.load() != nullptr; }));
    EXPECT_EQ(p.seen.load(), &w);
    EXPECT_EQ(worker::current(), nullptr);
    w.stop();
    w.join();
}
