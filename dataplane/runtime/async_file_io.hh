// Asynchronous file I/O for code that runs on a polling worker and must not wait: a
// READ or WRITE handler hands its file read or write to the worker's queue and is
// resumed in the completion, on the same worker. The worker's implementation is an
// io_uring (file_io_ring.hh); tests use fakes that complete with a chosen result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <sys/types.h>

namespace smbx {

class async_file_io {
public:
    // Called with the bytes moved or -errno, on the queue's thread, never from inside
    // the call that queued it (the caller may hold locks the completion takes).
    using completion = std::function<void(ssize_t result)>;

    virtual ~async_file_io() = default;

    // Reads up to `length` bytes at `offset` into `data`; ends early only at end of
    // file. `data` stays valid until the completion.
    virtual void read(int fd, uint8_t* data, size_t length, uint64_t offset, completion done) = 0;
    // Writes all `length` bytes at `offset`: the completion has `length` or -errno.
    virtual void write(int fd, const uint8_t* data, size_t length, uint64_t offset,
                       completion done) = 0;
    // fdatasync(2): 0 or -errno.
    virtual void sync_data(int fd, completion done) = 0;
    // fsync(2), the metadata too: 0 or -errno.
    virtual void sync_file(int fd, completion done) = 0;

    // The calling thread's queue: its worker's, or null on other threads.
    static async_file_io* local();
    // Makes `io` the calling thread's queue (a worker at start; a test).
    static void set_local(async_file_io* io);
};

} // namespace smbx
