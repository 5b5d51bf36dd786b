// A data-plane worker: one thread pinned to one core, polling its pollers (a
// transport's io_uring or RDMA completion queue, ...) in a loop, as SPDK's reactors
// and Seastar's shards do. Each connection belongs to one worker for its life.
//
// Idle policies (`idle policy` in the configuration):
// - poll: never sleeps; a core is spent even when idle (storage appliances).
// - adaptive: polls while there is work, and after a short idle spell sleeps on the
//   pollers' wait fds until one of them (or another thread, through wake()) has work.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/control_channel.hh"
#include "dataplane/runtime/file_io_ring.hh"
#include "dataplane/runtime/poller.hh"

namespace smbx {

class worker {
public:
    // `cpu` < 0: not pinned.
    worker(unsigned index, int cpu, idle_policy policy);
    ~worker();
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    // Before start(): the pollers this worker drives (besides its file I/O ring).
    void add_poller(poller* p) { _pollers.push_back(p); }
    void start();
    // Any thread: ends the loop; join() waits for it.
    void stop();
    void join();

    // Any thread: makes a sleeping worker poll again (it queued work for it). Cheap when
    // the worker is awake: no system call.
    void wake();

    unsigned index() const { return _index; }
    int cpu() const { return _cpu; }
    // The worker whose thread calls this; nullptr on any other thread.
    static worker* current();
    // Loop iterations and sleeps so far, for tests and `smbxctl status`.
    uint64_t sleeps() const { return _sleeps.load(std::memory_order_relaxed); }

    // The cores this process may run on (sched_getaffinity), in order.
    static std::vector<int> allowed_cpus();
    // Names the calling thread and, for `cpu` >= 0, pins it to that core (a warning
    // if it cannot be): a worker, and its helper threads (request_executor).
    static void name_and_pin_this_thread(const char* name, int cpu);

private:
    void run();
    void sleep_until_work();

    const unsigned _index;
    const int _cpu;
    const idle_policy _policy;
    std::vector<poller*> _pollers;
    std::unique_ptr<file_io_ring> _file_io; // created by start(), polled last
    std::thread _thread;
    std::atomic<bool> _stopping{false};
    std::atomic<bool> _sleeping{false};
    std::atomic<uint64_t> _sleeps{0};
    int _wake_fd = -1;
    int _epoll_fd = -1;
};

} // namespace smbx
