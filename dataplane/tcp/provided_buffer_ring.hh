// A worker's provided-buffer ring (IORING_REGISTER_PBUF_RING): the buffers its
// connections' receives land in. The kernel picks a free buffer for each
// receive completion (IOSQE_BUFFER_SELECT) and names it in the completion's flags; the
// worker frames messages out of it and puts it back on the ring as soon as nothing
// refers to it any more. The buffers are carved from the data plane's buffer pool, so
// they lie in the registered region: a message handed to the engine in the buffer it
// arrived in (lend()) can be written to a file with WRITE_FIXED like any pool buffer.
//
// Threads: everything but give_back() runs on the worker that owns the io_uring. A
// lent buffer may be destroyed on a request thread; give_back() queues it and the
// worker puts it back on the ring in reclaim().
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include <liburing.h>

#include "dataplane/runtime/buffer_pool.hh"

namespace smbx {

class worker;

class provided_buffer_ring final : public buffer_lender {
public:
    struct config {
        unsigned entries = 128;         // a power of two, at most 32768
        size_t buffer_size = 16 * 1024; // what one receive completion can carry
    };

    // Registers the ring as buffer group `group` of `ring`; throws std::runtime_error
    // when the kernel refuses (provided-buffer rings need Linux 5.19). `waker` is woken when
    // buffers come back while a connection waits.
    provided_buffer_ring(io_uring& ring, uint16_t group, config cfg, worker& waker);
    ~provided_buffer_ring();
    provided_buffer_ring(const provided_buffer_ring&) = delete;
    provided_buffer_ring& operator=(const provided_buffer_ring&) = delete;

    uint16_t group() const { return _group; }
    unsigned entries() const { return _cfg.entries; }
    // Buffers the kernel can fill now.
    unsigned available() const { return _in_ring; }
    uint8_t* buffer(uint16_t id) { return _buffers[id]; }

    // A receive completion handed buffer `id` to the worker: it holds one reference
    // until release().
    void take(uint16_t id);
    void release(uint16_t id);
    // `size` bytes at `offset` of buffer `id` as a pool_buffer for the engine; the
    // buffer goes back to the ring once that and every other reference are gone.
    pool_buffer lend(uint16_t id, size_t offset, size_t size);
    // Lent buffers not yet given back (the ring must outlive them).
    uint32_t lent_out() const { return _lent_out.load(std::memory_order_acquire); }

    // Any thread (buffer_lender).
    void give_back(uint32_t token) noexcept override;
    // Worker: puts the buffers given back by other threads on the ring; how many.
    unsigned reclaim();
    // Worker: a connection waits for buffers (its receive ended with ENOBUFS): wake the
    // worker when one comes back. False stops that.
    void set_waiting(bool waiting) { _waiting.store(waiting, std::memory_order_seq_cst); }
    // Buffers were given back and not yet reclaimed.
    bool has_returns() const { return _has_returns.load(std::memory_order_seq_cst); }

private:
    void recycle(uint16_t id);

    io_uring& _ring;
    const uint16_t _group;
    const config _cfg;
    worker& _waker;
    io_uring_buf_ring* _br = nullptr;
    size_t _br_bytes = 0;
    std::vector<pool_buffer> _chunks; // the memory, carved from the pool (or the heap)
    std::vector<uint8_t*> _buffers;
    bool _in_pool = false;
    std::unique_ptr<std::atomic<uint32_t>[]> _refs;
    unsigned _in_ring = 0;
    std::atomic<uint32_t> _lent_out{0};
    std::mutex _returns_mutex;
    std::vector<uint16_t> _returns;
    std::atomic<bool> _has_returns{false};
    std::atomic<bool> _waiting{false};
};

} // namespace smbx
