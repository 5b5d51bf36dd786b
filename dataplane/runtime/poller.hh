// What a worker polls (worker.hh): a transport's io_uring or RDMA completion queue, the
// control ring, the worker's file I/O ring.
#pragma once

namespace smbx {

// Something a worker polls. Called only on the worker's thread.
class poller {
public:
    virtual ~poller() = default;
    // Does the work that is ready, without blocking. Returns how much (0: nothing).
    virtual unsigned poll() = 0;
    // A descriptor that becomes readable when poll() would find work; -1 if none.
    virtual int wait_fd() { return -1; }
    // The worker is about to sleep (adaptive policy): arm wait_fd(). False when work
    // arrived meanwhile, so the worker polls again instead.
    virtual bool before_sleep() { return true; }
    // The worker woke up: disarm what before_sleep() armed.
    virtual void after_sleep() {}
};

} // namespace smbx
