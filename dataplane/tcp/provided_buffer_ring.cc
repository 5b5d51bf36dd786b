#include "dataplane/tcp/provided_buffer_ring.hh"

#include <cstring>
#include <stdexcept>
#include <sys/mman.h>

#include "common/log.hh"
#include "dataplane/runtime/worker.hh"

namespace smbx {

provided_buffer_ring::provided_buffer_ring(io_uring& ring, uint16_t group, config cfg,
                                           worker& waker)
    : _ring(ring), _group(group), _cfg(cfg), _waker(waker) {
    if (_cfg.entries == 0 || (_cfg.entries & (_cfg.entries - 1)) || _cfg.entries > 32768) {
        throw std::invalid_argument("provided-buffer ring: entries must be a power of two");
    }
    // The ring itself (what the kernel reads buffer addresses from) must be page
    // aligned memory of its own.
    _br_bytes = _cfg.entries * sizeof(io_uring_buf);
    void* p = mmap(nullptr, _br_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        throw std::bad_alloc();
    }
    _br = static_cast<io_uring_buf_ring*>(p);
    io_uring_buf_ring_init(_br);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(_br);
    reg.ring_entries = _cfg.entries;
    reg.bgid = _group;
    int r = io_uring_register_buf_ring(&_ring, &reg, 0);
    if (r < 0) {
        munmap(_br, _br_bytes);
        LOG_ERROR("io_uring: cannot register a provided-buffer ring (%s); the TCP transport "
                  "needs Linux 5.19 or later",
                  strerror(-r));
        throw std::runtime_error("provided-buffer ring unavailable");
    }

    // The buffers: chunks of about 1 MiB from the pool (its 1 MiB class), each cut into
    // buffers; smaller chunks when the pool will not give that much (reserve() leaves
    // three quarters of each class to requests); the heap when it gives none (or there
    // is no pool).
    constexpr size_t chunk_target = 1024 * 1024;
    size_t per_chunk = std::max<size_t>(1, chunk_target / _cfg.buffer_size);
    auto* pool = buffer_pool::global();
    size_t heap_chunks = 0;
    while (_buffers.size() < _cfg.entries) {
        size_t count = std::min(per_chunk, _cfg.entries - _buffers.size());
        pool_buffer chunk;
        while (pool && chunk.empty() && count > 0) {
            chunk = pool->reserve(count * _cfg.buffer_size);
            if (chunk.empty()) {
                per_chunk = count = count / 2;
            }
        }
        if (chunk.empty()) {
            count = _cfg.entries - _buffers.size(); // the rest, in one piece
            chunk = pool_buffer(bytes(count * _cfg.buffer_size));
            ++heap_chunks;
        }
        for (size_t i = 0; i < count; ++i) {
            _buffers.push_back(chunk.data() + i * _cfg.buffer_size);
        }
        _chunks.push_back(std::move(chunk));
    }
    if (pool && heap_chunks) {
        LOG_WARN("provided-buffer ring: %zu of %zu chunks from the heap (buffer pool short)",
                 heap_chunks, _chunks.size());
    }
    _refs = std::make_unique<std::atomic<uint32_t>[]>(_cfg.entries);
    for (unsigned id = 0; id < _cfg.entries; ++id) {
        recycle(uint16_t(id));
    }
}

provided_buffer_ring::~provided_buffer_ring() {
    io_uring_unregister_buf_ring(&_ring, _group);
    munmap(_br, _br_bytes);
}

void provided_buffer_ring::recycle(uint16_t id) {
    io_uring_buf_ring_add(_br, _buffers[id], unsigned(_cfg.buffer_size), id,
                          io_uring_buf_ring_mask(_cfg.entries), 0);
    io_uring_buf_ring_advance(_br, 1); // publishes the entry (a release store of the tail)
    ++_in_ring;
}

void provided_buffer_ring::take(uint16_t id) {
    --_in_ring;
    _refs[id].store(1, std::memory_order_relaxed);
}

void provided_buffer_ring::release(uint16_t id) {
    if (_refs[id].fetch_sub(1, std::memory_order_acq_rel) == 1) {
        recycle(id);
    }
}

pool_buffer provided_buffer_ring::lend(uint16_t id, size_t offset, size_t size) {
    _refs[id].fetch_add(1, std::memory_order_relaxed);
    _lent_out.fetch_add(1, std::memory_order_relaxed);
    uint8_t* p = _buffers[id] + offset;
    auto* pool = buffer_pool::global();
    return pool_buffer::lent(p, size, pool && pool->contains(p), *this, id);
}

void provided_buffer_ring::give_back(uint32_t token) noexcept {
    auto id = uint16_t(token);
    if (_refs[id].fetch_sub(1, std::memory_order_acq_rel) == 1) {
        {
            std::lock_guard lock(_returns_mutex);
            _returns.push_back(id);
            _has_returns.store(true, std::memory_order_seq_cst);
        }
        // Either the worker sees the return before it sleeps (has_returns()) or this
        // sees it waiting: seq_cst on both flags.
        if (_waiting.load(std::memory_order_seq_cst)) {
            _waker.wake();
        }
    }
    _lent_out.fetch_sub(1, std::memory_order_acq_rel);
}

unsigned provided_buffer_ring::reclaim() {
    if (!_has_returns.load(std::memory_order_acquire)) {
        return 0;
    }
    std::vector<uint16_t> batch;
    {
        std::lock_guard lock(_returns_mutex);
        batch.swap(_returns);
        _has_returns.store(false, std::memory_order_relaxed);
    }
    for (uint16_t id : batch) {
        recycle(id);
    }
    return unsigned(batch.size());
}

} // namespace smbx
