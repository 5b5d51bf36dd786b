// A worker's asynchronous file I/O: an io_uring of its own, polled by the worker like
// its transports (worker.hh poller), with the buffer pool registered as fixed buffer 0
// so pool buffers go as READ_FIXED / WRITE_FIXED (the kernel does not pin and map the
// pages again for every I/O, which is most of what O_DIRECT costs on NVMe).
//
// Its own ring, not the TCP backend's: it serves every backend (a DPDK or SMB Direct
// worker has no io_uring of its own), and the completions of file I/O and of sockets
// stay with the code that understands them. Operations queued while the worker runs
// its pollers go to the kernel together at this poller's next poll (one io_uring_enter
// for a batch of requests); their completions run there too, on the worker.
#pragma once

#include <liburing.h>

#include <memory>
#include <vector>

#include "dataplane/runtime/async_file_io.hh"
#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/runtime/poller.hh"

namespace smbx {

class file_io_ring final : public async_file_io, public poller {
public:
    // `pool`: registered as the fixed buffer when the process may lock it (root, or
    // RLIMIT_MEMLOCK); otherwise I/O uses the plain operations.
    explicit file_io_ring(buffer_pool* pool, unsigned entries = 256);
    // Waits (a few seconds at most) for operations still in the kernel, whose buffers
    // it may still be writing; their completions are not called.
    ~file_io_ring() override;
    file_io_ring(const file_io_ring&) = delete;
    file_io_ring& operator=(const file_io_ring&) = delete;

    void read(int fd, uint8_t* data, size_t length, uint64_t offset, completion done) override;
    void write(int fd, const uint8_t* data, size_t length, uint64_t offset,
               completion done) override;
    void sync_data(int fd, completion done) override;
    void sync_file(int fd, completion done) override;

    // Submits what was queued and runs the completions that are ready.
    unsigned poll() override;
    int wait_fd() override { return _event_fd; }
    bool before_sleep() override;

    // Operations queued or in the kernel.
    size_t in_flight() const { return _in_flight; }
    // False when io_uring is not available: operations then run synchronously (the
    // worker waits), their completions still from poll().
    bool ready() const { return _ready; }
    // Whether pool buffers go as fixed buffers (the pool was registered).
    bool buffers_registered() const { return _registered != nullptr; }

private:
    enum class kind : uint8_t { read, write, sync_data, sync_file };
    static bool is_sync(kind k) { return k == kind::sync_data || k == kind::sync_file; }
    struct operation {
        kind what = kind::read;
        int fd = -1;
        uint8_t* data = nullptr;
        size_t length = 0;
        size_t done = 0; // bytes moved so far (short reads and writes go on)
        uint64_t offset = 0;
        completion on_done;
    };

    void start(kind what, int fd, uint8_t* data, size_t length, uint64_t offset, completion done);
    void prepare(operation& op);
    // The kernel's result for `op`: finished (true), or submitted again for the rest.
    bool advance(operation& op, int result);
    void finish(operation* op, ssize_t result);
    void run_synchronously(operation& op);
    unsigned reap();

    io_uring _ring{};
    bool _ready = false;
    buffer_pool* _registered = nullptr;
    int _event_fd = -1;
    size_t _in_flight = 0;
    std::vector<std::unique_ptr<operation>> _free;
    // Without io_uring: operations done synchronously, completed at the next poll().
    std::vector<std::pair<operation*, ssize_t>> _done_synchronously;
};

} // namespace smbx
