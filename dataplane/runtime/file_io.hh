// File reads and writes of READ/WRITE payloads through io_uring, straight between the
// file and a pool buffer. Each calling thread has its own small ring with the buffer
// pool registered once as a fixed buffer (IORING_OP_READ_FIXED / WRITE_FIXED: the
// kernel does not pin and map the pages again for every I/O, which is what O_DIRECT on
// NVMe pays most for). Buffers outside the pool use the plain read/write operations.
#pragma once

#include <cstdint>
#include <liburing.h>
#include <sys/types.h>

#include "common/byte_codec.hh"
#include "dataplane/runtime/buffer_pool.hh"

namespace smbx::file_io {

// Reads up to `length` bytes at `offset` into buf.data(); stops early only at end of
// file. Returns the bytes read or -errno.
ssize_t read(int fd, pool_buffer& buf, size_t length, uint64_t offset);

// The same without ever waiting for the disk (RWF_NOWAIT): -EAGAIN unless all of it
// (or all up to end of file) is in the page cache. What a polling worker may call.
ssize_t read_nowait(int fd, pool_buffer& buf, size_t length, uint64_t offset);

// Writes all of `data` at `offset`; data inside the pool goes as a fixed buffer.
// Returns the bytes written or -errno.
ssize_t write(int fd, byte_span data, uint64_t offset);

// What the blocking rings here and the workers' asynchronous ring (file_io_ring.hh)
// share: one read or write prepared as a fixed-buffer operation when `p` lies in the
// registered pool, and the bytes it moved counted by kind.
void prep_read_write(io_uring_sqe* sqe, bool is_read, int fd, uint8_t* p, unsigned length,
                     uint64_t offset, bool fixed);
void count_bytes(bool is_read, bool fixed, uint64_t bytes);

} // namespace smbx::file_io
