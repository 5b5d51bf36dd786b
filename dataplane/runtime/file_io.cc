#include "dataplane/runtime/file_io.hh"

#include <cerrno>
#include <cstring>
#include <liburing.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"

namespace smbx::file_io {

namespace {

// One ring per thread, created on first use; the pool is registered if the process may
// lock that much memory (root, or RLIMIT_MEMLOCK); if not, the fixed variants are
// simply not used.
class thread_ring {
public:
    thread_ring() {
        if (io_uring_queue_init(8, &_ring, 0) < 0) {
            return;
        }
        _ready = true;
        if (auto* pool = buffer_pool::global()) {
            iovec iov{pool->region(), pool->region_size()};
            int r = io_uring_register_buffers(&_ring, &iov, 1);
            if (r == 0) {
                _registered = pool;
            } else {
                LOG_WARN("io_uring: cannot register the buffer pool (%s); file I/O uses "
                         "unregistered buffers",
                         strerror(-r));
            }
        }
    }
    ~thread_ring() {
        if (_ready) {
            io_uring_queue_exit(&_ring);
        }
    }

    // One read or write, submitted and waited for. -errno on failure.
    ssize_t run(bool is_read, int fd, uint8_t* p, size_t n, uint64_t offset, int rw_flags = 0) {
        if (!_ready && rw_flags) {
            iovec iov{p, n};
            ssize_t r = preadv2(fd, &iov, 1, off_t(offset), rw_flags);
            return r < 0 ? -errno : r;
        }
        if (!_ready) {
            ssize_t r =
                is_read ? ::pread(fd, p, n, off_t(offset)) : ::pwrite(fd, p, n, off_t(offset));
            return r < 0 ? -errno : r;
        }
        io_uring_sqe* sqe = io_uring_get_sqe(&_ring);
        bool fixed = _registered && _registered->contains(p);
        unsigned len = unsigned(std::min<size_t>(n, 1u << 30));
        prep_read_write(sqe, is_read, fd, p, len, offset, fixed);
        sqe->rw_flags = rw_flags;
        io_uring_cqe* cqe = nullptr;
        int r = io_uring_submit_and_wait(&_ring, 1);
        if (r >= 0) {
            r = io_uring_peek_cqe(&_ring, &cqe);
        }
        if (r < 0 || !cqe) {
            return r < 0 ? r : -EIO;
        }
        ssize_t res = cqe->res;
        io_uring_cqe_seen(&_ring, cqe);
        if (res > 0) {
            count_bytes(is_read, fixed, uint64_t(res));
        }
        return res;
    }

private:
    io_uring _ring{};
    bool _ready = false;
    buffer_pool* _registered = nullptr;
};

thread_ring& ring() {
    thread_local thread_ring r;
    return r;
}

} // namespace

void prep_read_write(io_uring_sqe* sqe, bool is_read, int fd, uint8_t* p, unsigned length,
                     uint64_t offset, bool fixed) {
    if (is_read) {
        fixed ? io_uring_prep_read_fixed(sqe, fd, p, length, offset, 0)
              : io_uring_prep_read(sqe, fd, p, length, offset);
    } else {
        fixed ? io_uring_prep_write_fixed(sqe, fd, p, length, offset, 0)
              : io_uring_prep_write(sqe, fd, p, length, offset);
    }
}

void count_bytes(bool is_read, bool fixed, uint64_t bytes) {
    auto& d = counters::data();
    counters::add(is_read ? (fixed ? d.file_read_fixed_bytes : d.file_read_unregistered_bytes)
                          : (fixed ? d.file_write_fixed_bytes : d.file_write_unregistered_bytes),
                  bytes);
}

ssize_t read(int fd, pool_buffer& buf, size_t length, uint64_t offset) {
    size_t got = 0;
    length = std::min(length, buf.capacity());
    while (got < length) {
        ssize_t n = ring().run(true, fd, buf.data() + got, length - got, offset + got);
        if (n == -EINTR || n == -EAGAIN) {
            continue;
        }
        if (n < 0) {
            return n;
        }
        if (n == 0) {
            break;
        }
        got += size_t(n);
    }
    return ssize_t(got);
}

ssize_t read_nowait(int fd, pool_buffer& buf, size_t length, uint64_t offset) {
    length = std::min(length, buf.capacity());
    ssize_t n = ring().run(true, fd, buf.data(), length, offset, RWF_NOWAIT);
    if (n < 0 || size_t(n) == length) {
        return n;
    }
    // Short: end of file, or only part of it cached. Another look tells which.
    uint8_t probe;
    ssize_t more = ring().run(true, fd, &probe, 1, offset + size_t(n), RWF_NOWAIT);
    return more == 0 ? n : -EAGAIN;
}

ssize_t write(int fd, byte_span data, uint64_t offset) {
    size_t done = 0;
    while (done < data.size()) {
        auto* p = const_cast<uint8_t*>(data.data()) + done;
        ssize_t n = ring().run(false, fd, p, data.size() - done, offset + done);
        if (n == -EINTR || n == -EAGAIN) {
            continue;
        }
        if (n < 0) {
            return n;
        }
        if (n == 0) {
            return -EIO;
        }
        done += size_t(n);
    }
    return ssize_t(done);
}

} // namespace smbx::file_io
