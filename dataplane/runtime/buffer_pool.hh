// The data plane's one buffer pool (DESIGN.md "Worker model"): a single region mapped
// at start, on hugepages when the machine has them, carved into size classes of
// page-aligned buffers. Because it is one region it is registered once: with io_uring
// as one fixed buffer (file reads land in it directly) and, for SMB Direct, with each
// RDMA device as one memory region. Received messages and READ payloads live in pool
// buffers from the wire to the file and back, so the payload is never copied in user
// space.
//
// When a class runs dry, a buffer comes from the heap instead (counted in stats():
// requests still succeed, only that buffer cannot use the registered fast paths).
//
// Per-thread caches (as in tcmalloc and Seastar's per-shard allocator): every thread
// that gets or puts buffers (a worker, a request thread) keeps a few free buffers of
// each size class of its own, so the common get and put take no lock and touch no
// cache line another core writes. A cache refills from, and flushes to, the class's
// shared free list in batches (one lock per batch), and holds at most
// 1/cache_share of a class (the largest class is not cached: it has few buffers). A
// buffer freed on another thread than the one that took it goes to the freeing
// thread's cache. A thread that ends gives its cached buffers back.
//
// Accounting (stats(), `smbxctl status`): a cached buffer is free, not in use.
// Each thread counts its own gets and puts; in_use is the sum of gets less the sum
// of puts, exact whenever no get or put is under way (a reading taken during traffic
// may be off by the operations in flight, never below zero).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "common/byte_codec.hh"
#include "dataplane/runtime/message_limits.hh"

namespace smbx {

class buffer_pool;

// Another owner of pool memory that lends pieces of it out as pool_buffers (a TCP
// transport's provided-buffer ring): when such a buffer is destroyed, on whatever
// thread, the lender is told through give_back(token) instead of the pool.
class buffer_lender {
public:
    virtual void give_back(uint32_t token) noexcept = 0;

protected:
    ~buffer_lender() = default;
};

// One buffer: move-only; returns to its pool (or frees its heap memory) when destroyed.
// `size` is how many bytes are in use, at most `capacity`.
class pool_buffer {
public:
    pool_buffer() = default;
    // Adopts a vector's storage (no copy): for messages built outside the pool.
    explicit pool_buffer(bytes&& owned);
    // `size` bytes at `data` that belong to `lender`; `in_pool`: they lie in the pool's
    // region (registered: fixed-buffer I/O can use them).
    static pool_buffer lent(uint8_t* data, size_t size, bool in_pool, buffer_lender& lender,
                            uint32_t token);
    // A request's buffer changes hands several times on its way (transport, engine,
    // response, send queue): moving is a handful of stores, inline.
    pool_buffer(pool_buffer&& o) noexcept { take_from(o); }
    pool_buffer& operator=(pool_buffer&& o) noexcept {
        if (this != &o) {
            reset();
            take_from(o);
        }
        return *this;
    }
    pool_buffer(const pool_buffer&) = delete;
    pool_buffer& operator=(const pool_buffer&) = delete;
    ~pool_buffer() { reset(); }

    uint8_t* data() { return _data; }
    const uint8_t* data() const { return _data; }
    size_t size() const { return _size; }
    size_t capacity() const { return _capacity; }
    bool empty() const { return _size == 0; }
    void resize(size_t n) { _size = n <= _capacity ? n : _capacity; }
    std::span<uint8_t> span() { return {_data, _size}; }
    byte_span view() const { return {_data, _size}; }
    // True when the buffer is inside the pool's region (fixed-buffer I/O can use it).
    bool in_pool() const { return _pool != nullptr || _lent_in_pool; }
    // Index of the registered io_uring buffer covering this buffer (always 0: the
    // region is one registration), or -1 for heap buffers.
    int fixed_index() const { return in_pool() ? 0 : -1; }
    // Gives the storage back (to the pool, its lender or the heap); empty afterwards.
    void reset() {
        if (_pool || _lender || _owned.capacity() != 0) {
            give_back();
        }
        forget();
    }

private:
    friend class buffer_pool;
    void give_back();
    void forget() {
        _data = _base = nullptr;
        _size = _capacity = 0;
        _pool = nullptr;
        _lender = nullptr;
        _lent_in_pool = _reserved = false;
    }
    void take_from(pool_buffer& o) noexcept {
        _owned = std::move(o._owned); // keeps its storage: o._data stays valid
        _data = o._data;
        _base = o._base;
        _size = o._size;
        _capacity = o._capacity;
        _pool = o._pool;
        _class = o._class;
        _reserved = o._reserved;
        _lent_in_pool = o._lent_in_pool;
        _lender = o._lender;
        _lender_token = o._lender_token;
        o.forget();
    }
    uint8_t* _data = nullptr;
    uint8_t* _base = nullptr; // what goes back to the pool (_data may start later)
    size_t _size = 0;
    size_t _capacity = 0;
    buffer_pool* _pool = nullptr; // null: heap or adopted
    uint8_t _class = 0;
    bool _reserved = false; // from buffer_pool::reserve()
    bool _lent_in_pool = false;
    buffer_lender* _lender = nullptr; // set: lent (_pool is null)
    uint32_t _lender_token = 0;
    bytes _owned; // heap storage when not from the pool
};

class buffer_pool {
public:
    struct stats_snapshot {
        uint64_t gets = 0;           // buffers handed out from the region
        uint64_t heap_fallbacks = 0; // requests the region could not serve
        uint64_t in_use = 0;         // region buffers not yet returned
        uint64_t reserved = 0;       // region buffers held by long-lived owners (reserve())
        uint64_t buffers = 0;        // region buffers in all: in use, reserved or free
        uint64_t cached = 0;         // of the free ones, those in threads' caches
        size_t region_bytes = 0;
        bool hugepages = false;
    };

    // Maps `region_bytes` (rounded up to 2 MiB) and splits it among the size classes.
    explicit buffer_pool(size_t region_bytes);
    ~buffer_pool();
    buffer_pool(const buffer_pool&) = delete;
    buffer_pool& operator=(const buffer_pool&) = delete;

    // A buffer of at least `n` bytes with size() == n. Never fails: falls back to the
    // heap when the right class is empty or n exceeds the largest class. With
    // `aligned_at`, byte `aligned_at` of the buffer falls on a page boundary: a received
    // WRITE placed so that its data (after the headers) can go to an O_DIRECT file.
    pool_buffer get(size_t n, size_t aligned_at = 0);
    // A buffer of at least `n` bytes taken out for the life of a long-lived owner (the
    // TCP transport carves its provided-buffer ring from it): counted in
    // stats().reserved, not in in_use, and never from the heap: empty when no class
    // has one free. Takes at most a quarter of any class, so that requests keep the
    // rest (many workers each carving a ring would otherwise drain the 1 MiB class).
    pool_buffer reserve(size_t n);

    uint8_t* region() const { return _region; }
    size_t region_size() const { return _region_bytes; }
    bool contains(const void* p) const {
        auto* b = static_cast<const uint8_t*>(p);
        return b >= _region && b < _region + _region_bytes;
    }
    stats_snapshot stats() const;

    // The process-wide pool of the data plane; null until one is installed (tests and
    // tools that run the engine alone get heap buffers from pool_get()).
    static buffer_pool* global() { return _global; }
    static void set_global(buffer_pool* p) { _global = p; }

    // Largest buffer the classes offer: the largest message (an 8 MiB READ/WRITE plus
    // its headers).
    static constexpr size_t max_class_size = max_message_size;

    // A thread caches at most 1/cache_share of a class's buffers, and never more than
    // max_cached; it refills and flushes half of that at a time.
    static constexpr size_t cache_share = 32;
    static constexpr size_t max_cached = 32;
    // One thread's cache (buffer_pool.cc; opaque here).
    struct thread_cache;

private:
    friend class pool_buffer;
    struct size_class {
        size_t size = 0;
        std::mutex mutex;
        std::vector<uint8_t*> free;
        size_t total = 0;         // buffers the class was cut into
        size_t reserved = 0;      // of those, taken by reserve()
        uint32_t cache_limit = 0; // per-thread cache bound (0: not cached)
    };
    static constexpr size_t class_count = 4;
    friend struct thread_cache_exit;

    void put(uint8_t cls, uint8_t* p, bool reserved);
    // The calling thread's cache of this pool: found in a thread-local slot, created
    // (or an ended thread's adopted) on the thread's first get or put. Null when the
    // thread has no slot for it (it is ending, or uses many pools): then get and put
    // go to the shared lists.
    thread_cache* my_cache();
    thread_cache* register_cache();
    // A thread ends: its cached buffers go back to the shared lists, its counts stay.
    void retire(thread_cache& c);
    uint8_t* take_shared(size_class& c);

    uint8_t* _region = nullptr;
    size_t _region_bytes = 0;
    bool _hugepages = false;
    std::array<size_class, class_count> _classes;
    const uint64_t _id; // never reused, unlike the address: how a thread finds its cache
    mutable std::mutex _caches_mutex; // first use by a thread, thread end, stats()
    std::vector<std::unique_ptr<thread_cache>> _caches;
    // Counts of threads without a cache (rare: see my_cache()), and of reserve().
    std::atomic<uint64_t> _uncached_gets{0};
    std::atomic<uint64_t> _uncached_puts{0};
    std::atomic<uint64_t> _uncached_fallbacks{0};
    std::atomic<uint64_t> _reserved{0};
    static inline buffer_pool* _global = nullptr;
};

// A buffer from the global pool when there is one, from the heap otherwise.
pool_buffer pool_get(size_t n, size_t aligned_at = 0);

} // namespace smbx
