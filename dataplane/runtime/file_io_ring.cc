#include "dataplane/runtime/file_io_ring.hh"

#include <cerrno>
#include <cstring>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/runtime/file_io.hh"

namespace smbx {

namespace {

thread_local async_file_io* local_io = nullptr;

} // namespace

async_file_io* async_file_io::local() {
    return local_io;
}

void async_file_io::set_local(async_file_io* io) {
    local_io = io;
}

file_io_ring::file_io_ring(buffer_pool* pool, unsigned entries) {
    // A large completion queue: completions of a burst of requests never overflow it
    // (and the kernel keeps what would, IORING_FEAT_NODROP).
    io_uring_params params{};
    params.flags = IORING_SETUP_CQSIZE;
    params.cq_entries = entries * 4;
    if (int r = io_uring_queue_init_params(entries, &_ring, &params); r < 0) {
        LOG_WARN("file I/O ring: io_uring unavailable (%s); file I/O on the workers waits",
                 strerror(-r));
        return;
    }
    _ready = true;
    _event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (_event_fd >= 0 && io_uring_register_eventfd(&_ring, _event_fd) < 0) {
        ::close(_event_fd);
        _event_fd = -1;
    }
    if (pool) {
        iovec iov{pool->region(), pool->region_size()};
        if (int r = io_uring_register_buffers(&_ring, &iov, 1); r == 0) {
            _registered = pool;
        } else {
            LOG_WARN("file I/O ring: cannot register the buffer pool (%s); file I/O uses "
                     "unregistered buffers",
                     strerror(-r));
        }
    }
}

file_io_ring::~file_io_ring() {
    if (_ready) {
        io_uring_submit(&_ring);
        __kernel_timespec wait{5, 0};
        io_uring_cqe* cqe = nullptr;
        while (_in_flight > 0 && io_uring_wait_cqe_timeout(&_ring, &cqe, &wait) == 0) {
            auto* op = reinterpret_cast<operation*>(io_uring_cqe_get_data(cqe));
            io_uring_cqe_seen(&_ring, cqe);
            delete op;
            --_in_flight;
        }
        if (_in_flight > 0) {
            LOG_WARN("file I/O ring: %zu operations still in the kernel at exit", _in_flight);
        }
        io_uring_queue_exit(&_ring);
    }
    for (auto& [op, result] : _done_synchronously) {
        delete op;
    }
    if (_event_fd >= 0) {
        ::close(_event_fd);
    }
}

void file_io_ring::read(int fd, uint8_t* data, size_t length, uint64_t offset, completion done) {
    start(kind::read, fd, data, length, offset, std::move(done));
}

void file_io_ring::write(int fd, const uint8_t* data, size_t length, uint64_t offset,
                         completion done) {
    // The kernel only reads from it; one operation type holds both directions.
    start(kind::write, fd, const_cast<uint8_t*>(data), length, offset, std::move(done));
}

void file_io_ring::sync_data(int fd, completion done) {
    start(kind::sync_data, fd, nullptr, 0, 0, std::move(done));
}

void file_io_ring::sync_file(int fd, completion done) {
    start(kind::sync_file, fd, nullptr, 0, 0, std::move(done));
}

void file_io_ring::start(kind what, int fd, uint8_t* data, size_t length, uint64_t offset,
                         completion done) {
    std::unique_ptr<operation> op;
    if (_free.empty()) {
        op = std::make_unique<operation>();
    } else {
        op = std::move(_free.back());
        _free.pop_back();
    }
    *op = operation{what, fd, data, length, 0, offset, std::move(done)};
    ++_in_flight;
    auto& d = counters::data();
    counters::add(what == kind::read    ? d.worker_file_reads
                  : what == kind::write ? d.worker_file_writes
                                        : d.worker_file_syncs,
                  1);
    if (!_ready) {
        run_synchronously(*op.release());
        return;
    }
    prepare(*op.release());
}

void file_io_ring::prepare(operation& op) {
    io_uring_sqe* sqe = io_uring_get_sqe(&_ring);
    while (!sqe) {
        io_uring_submit(&_ring); // the submission queue is full: hand it over first
        sqe = io_uring_get_sqe(&_ring);
    }
    uint8_t* p = op.data + op.done;
    // One operation moves at most 1 GiB; the rest goes on from advance().
    unsigned len = unsigned(std::min<size_t>(op.length - op.done, 1u << 30));
    bool fixed = _registered && p && _registered->contains(p);
    if (is_sync(op.what)) {
        io_uring_prep_fsync(sqe, op.fd, op.what == kind::sync_data ? IORING_FSYNC_DATASYNC : 0);
    } else {
        file_io::prep_read_write(sqe, op.what == kind::read, op.fd, p, len, op.offset + op.done,
                                 fixed);
    }
    io_uring_sqe_set_data(sqe, &op);
}

bool file_io_ring::advance(operation& op, int result) {
    if (result == -EINTR || result == -EAGAIN) {
        prepare(op);
        return false;
    }
    if (is_sync(op.what) || result < 0) {
        return true;
    }
    if (result > 0) {
        file_io::count_bytes(op.what == kind::read,
                             _registered && _registered->contains(op.data + op.done),
                             uint64_t(result));
    }
    op.done += size_t(result);
    // A short read ends at end of file (0); a short write goes on, a write of nothing
    // is an error (finish()).
    if (result > 0 && op.done < op.length) {
        prepare(op);
        return false;
    }
    return true;
}

void file_io_ring::finish(operation* op, ssize_t result) {
    --_in_flight;
    completion done = std::move(op->on_done);
    if (result >= 0 && !is_sync(op->what)) {
        result = op->what == kind::write && op->done < op->length ? -EIO : ssize_t(op->done);
    }
    op->on_done = nullptr;
    _free.emplace_back(op);
    done(result);
}

void file_io_ring::run_synchronously(operation& op) {
    ssize_t result = 0;
    while (!is_sync(op.what) && op.done < op.length) {
        uint8_t* p = op.data + op.done;
        size_t n = op.length - op.done;
        off_t at = off_t(op.offset + op.done);
        ssize_t r = op.what == kind::read ? ::pread(op.fd, p, n, at) : ::pwrite(op.fd, p, n, at);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            result = r < 0 ? -errno : 0;
            break;
        }
        op.done += size_t(r);
    }
    if (is_sync(op.what) &&
        (op.what == kind::sync_data ? ::fdatasync(op.fd) : ::fsync(op.fd)) != 0) {
        result = -errno;
    }
    _done_synchronously.emplace_back(&op, result);
}

unsigned file_io_ring::reap() {
    unsigned n = 0;
    io_uring_cqe* cqe = nullptr;
    while (io_uring_peek_cqe(&_ring, &cqe) == 0) {
        auto* op = reinterpret_cast<operation*>(io_uring_cqe_get_data(cqe));
        int result = cqe->res;
        io_uring_cqe_seen(&_ring, cqe);
        ++n;
        if (advance(*op, result)) {
            finish(op, result < 0 ? result : 0);
        }
    }
    return n;
}

unsigned file_io_ring::poll() {
    if (!_ready) {
        auto done = std::exchange(_done_synchronously, {});
        for (auto& [op, result] : done) {
            finish(op, result);
        }
        return unsigned(done.size());
    }
    if (_in_flight == 0) {
        return 0; // the common case on a worker that serves from the page cache
    }
    if (io_uring_sq_ready(&_ring) > 0) {
        io_uring_submit(&_ring);
    }
    // Completions may queue more operations (a short read goes on, a write-through's
    // flush follows its write): those go to the kernel at the next poll.
    return reap();
}

bool file_io_ring::before_sleep() {
    if (!_ready) {
        return _done_synchronously.empty();
    }
    if (io_uring_sq_ready(&_ring) > 0) {
        return false; // queued operations are still to be submitted
    }
    // The eventfd counts every completion while the worker was awake: emptied here, it
    // wakes the worker only for one that comes after this look at the queue.
    uint64_t v;
    if (_event_fd >= 0) {
        while (::read(_event_fd, &v, sizeof v) > 0) {
        }
    }
    return io_uring_cq_ready(&_ring) == 0;
}

} // namespace smbx
