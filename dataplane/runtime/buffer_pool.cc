#include "dataplane/runtime/buffer_pool.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <sys/mman.h>

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"

namespace smbx {

namespace {

constexpr size_t kib = 1024;
constexpr size_t mib = 1024 * kib;
constexpr size_t huge_page = 2 * mib;

// Size classes and the share of the region each gets. A class is a little larger
// than a power of two so that a message of that payload plus its SMB2 headers fits
// (a 1 MiB WRITE is 1 MiB + 112 bytes on the wire).
struct class_spec {
    size_t size;
    unsigned percent;
};
constexpr class_spec class_specs[] = {
    {8 * kib, 10},                     // requests, small READ payloads
    {68 * kib, 15},                    // 64 KiB I/O
    {mib + 4 * kib, 45},               // 1 MiB I/O, what clients use most for bulk data
    {buffer_pool::max_class_size, 30}, // up to the 8 MiB we negotiate
};

std::atomic<uint64_t> next_pool_id{1};

// The pools alive, for a thread that ends: its caches go back only to pools that still
// exist. Taken when a pool is made or destroyed and when a thread with caches ends.
struct pool_list {
    std::mutex mutex;
    std::vector<buffer_pool*> pools;
};

pool_list& live_pools() {
    static auto* l = new pool_list; // never destroyed: threads may end during exit
    return *l;
}

} // namespace

// One thread's free buffers of one pool. Written only by its thread; stats() reads the
// counts (relaxed atomics) from any thread. Its own cache lines: no false sharing.
struct alignas(64) buffer_pool::thread_cache {
    struct cached_class {
        std::atomic<uint32_t> count{0};
        std::array<uint8_t*, max_cached> buffers{};
    };
    std::array<cached_class, class_count> classes;
    counters::counter gets;
    counters::counter puts;
    counters::counter fallbacks;
    bool owned = true; // a thread uses it; under _caches_mutex
};

namespace {

// A thread's caches, one slot per pool it used (pools are few: one in the data plane).
// Plain thread-local data (no destructor), so that it stays readable while the thread
// ends: a buffer freed by another thread-local's destructor then finds tls_ended set
// and goes straight to the shared list.
struct cache_slot {
    uint64_t pool_id;
    buffer_pool::thread_cache* cache;
};
constexpr size_t cache_slots = 8;
thread_local cache_slot tls_slots[cache_slots];
thread_local bool tls_ended = false;

} // namespace

// Gives a thread's cached buffers back to their pools when the thread ends.
struct thread_cache_exit {
    ~thread_cache_exit() {
        tls_ended = true;
        auto& l = live_pools();
        std::lock_guard lock(l.mutex);
        for (auto& s : tls_slots) {
            auto pool = std::find_if(l.pools.begin(), l.pools.end(),
                                     [&](buffer_pool* p) { return p->_id == s.pool_id; });
            if (s.cache && pool != l.pools.end()) {
                (*pool)->retire(*s.cache);
            }
            s = {};
        }
    }
};

pool_buffer::pool_buffer(bytes&& owned) : _owned(std::move(owned)) {
    _data = _owned.data();
    _size = _capacity = _owned.size();
}

pool_buffer pool_buffer::lent(uint8_t* data, size_t size, bool in_pool, buffer_lender& lender,
                              uint32_t token) {
    pool_buffer b;
    b._data = b._base = data;
    b._size = b._capacity = size;
    b._lent_in_pool = in_pool;
    b._lender = &lender;
    b._lender_token = token;
    return b;
}

void pool_buffer::give_back() {
    if (_pool) {
        _pool->put(_class, _base, _reserved);
    }
    if (_lender) {
        _lender->give_back(_lender_token);
    }
    _owned = bytes();
}

buffer_pool::buffer_pool(size_t region_bytes) : _id(next_pool_id.fetch_add(1)) {
    _region_bytes = (std::max(region_bytes, 16 * mib) + huge_page - 1) / huge_page * huge_page;
    void* p = mmap(nullptr, _region_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE, -1, 0);
    if (p != MAP_FAILED) {
        _hugepages = true;
        LOG_NOTICE("buffer pool: %zu MiB on 2 MiB hugepages", _region_bytes / mib);
    } else {
        int err = errno;
        p = mmap(nullptr, _region_bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED) {
            throw std::bad_alloc();
        }
        madvise(p, _region_bytes, MADV_HUGEPAGE); // transparent hugepages, if enabled
        LOG_NOTICE("buffer pool: %zu MiB on ordinary pages (no free hugepages: %s)",
                   _region_bytes / mib, strerror(err));
    }
    _region = static_cast<uint8_t*>(p);

    uint8_t* cursor = _region;
    uint8_t* end = _region + _region_bytes;
    for (size_t i = 0; i < class_count; ++i) {
        auto& c = _classes[i];
        c.size = class_specs[i].size;
        size_t share = _region_bytes / 100 * class_specs[i].percent;
        size_t count = std::max<size_t>(share / c.size, 1);
        for (size_t k = 0; k < count && cursor + c.size <= end; ++k, cursor += c.size) {
            c.free.push_back(cursor);
            ++c.total;
        }
        // The largest class has a handful of buffers: caching them would strand them.
        c.cache_limit =
            i + 1 < class_count ? uint32_t(std::min(max_cached, c.total / cache_share)) : 0;
    }
    auto& l = live_pools();
    std::lock_guard lock(l.mutex);
    l.pools.push_back(this);
}

buffer_pool::~buffer_pool() {
    if (_global == this) {
        _global = nullptr;
    }
    {
        // After this no ending thread touches our caches; a thread that lives on keeps
        // a slot with our id, which no later pool has.
        auto& l = live_pools();
        std::lock_guard lock(l.mutex);
        std::erase(l.pools, this);
    }
    munmap(_region, _region_bytes);
}

buffer_pool::thread_cache* buffer_pool::my_cache() {
    for (auto& s : tls_slots) {
        if (s.pool_id == _id) {
            return s.cache;
        }
    }
    return tls_ended ? nullptr : register_cache();
}

buffer_pool::thread_cache* buffer_pool::register_cache() {
    cache_slot* free_slot = nullptr;
    {
        // A slot of a pool that no longer exists is free again.
        auto& l = live_pools();
        std::lock_guard lock(l.mutex);
        for (auto& s : tls_slots) {
            bool alive = std::any_of(l.pools.begin(), l.pools.end(),
                                     [&](buffer_pool* p) { return p->_id == s.pool_id; });
            if (!alive) {
                free_slot = &s;
                break;
            }
        }
    }
    if (!free_slot) {
        return nullptr;
    }
    thread_local thread_cache_exit at_exit; // constructed here, on first registration
    (void)at_exit;
    thread_cache* c = nullptr;
    {
        std::lock_guard lock(_caches_mutex);
        for (auto& mine : _caches) {
            if (!mine->owned) {
                c = mine.get(); // an ended thread's, counts and all
                break;
            }
        }
        if (!c) {
            c = _caches.emplace_back(std::make_unique<thread_cache>()).get();
        }
        c->owned = true;
    }
    *free_slot = {_id, c};
    return c;
}

void buffer_pool::retire(thread_cache& tc) {
    std::lock_guard lock(_caches_mutex);
    for (size_t i = 0; i < class_count; ++i) {
        auto& cc = tc.classes[i];
        uint32_t n = cc.count.load(std::memory_order_relaxed);
        if (n) {
            auto& c = _classes[i];
            std::lock_guard class_lock(c.mutex);
            c.free.insert(c.free.end(), cc.buffers.begin(), cc.buffers.begin() + n);
            cc.count.store(0, std::memory_order_relaxed);
        }
    }
    tc.owned = false;
}

uint8_t* buffer_pool::take_shared(size_class& c) {
    std::lock_guard lock(c.mutex);
    if (c.free.empty()) {
        return nullptr;
    }
    uint8_t* p = c.free.back();
    c.free.pop_back();
    return p;
}

pool_buffer buffer_pool::get(size_t n, size_t aligned_at) {
    constexpr size_t page = 4096;
    size_t lead = aligned_at ? (page - aligned_at % page) % page : 0;
    thread_cache* tc = my_cache();
    for (size_t i = 0; i < class_count; ++i) {
        auto& c = _classes[i];
        if (n + lead > c.size) {
            continue;
        }
        uint8_t* p = nullptr;
        if (tc && c.cache_limit) {
            auto& cc = tc->classes[i];
            uint32_t have = cc.count.load(std::memory_order_relaxed);
            if (have == 0) {
                // Refill half the cache under one lock.
                std::lock_guard lock(c.mutex);
                have = uint32_t(std::min<size_t>((c.cache_limit + 1) / 2, c.free.size()));
                std::copy(c.free.end() - have, c.free.end(), cc.buffers.begin());
                c.free.resize(c.free.size() - have);
            }
            if (have) {
                p = cc.buffers[--have];
            }
            cc.count.store(have, std::memory_order_relaxed);
        } else {
            p = take_shared(c);
        }
        if (!p) {
            continue; // a larger class may still serve it
        }
        if (tc) {
            tc->gets.add(1);
        } else {
            _uncached_gets.fetch_add(1, std::memory_order_relaxed);
        }
        pool_buffer b;
        b._base = p;
        b._data = p + lead;
        b._size = n;
        b._capacity = c.size - lead;
        b._pool = this;
        b._class = static_cast<uint8_t>(i);
        return b;
    }
    if (tc) {
        tc->fallbacks.add(1);
    } else {
        _uncached_fallbacks.fetch_add(1, std::memory_order_relaxed);
    }
    return pool_buffer(bytes(n));
}

pool_buffer buffer_pool::reserve(size_t n) {
    for (size_t i = 0; i < class_count; ++i) {
        auto& c = _classes[i];
        if (n > c.size) {
            continue;
        }
        std::lock_guard lock(c.mutex);
        if (c.free.empty() || (c.reserved + 1) * 4 > c.total) {
            continue;
        }
        ++c.reserved;
        pool_buffer b;
        b._base = b._data = c.free.back();
        c.free.pop_back();
        b._size = n;
        b._capacity = c.size;
        b._pool = this;
        b._class = static_cast<uint8_t>(i);
        b._reserved = true;
        _reserved.fetch_add(1, std::memory_order_relaxed);
        return b;
    }
    return {};
}

void buffer_pool::put(uint8_t cls, uint8_t* p, bool reserved) {
    auto& c = _classes[cls];
    thread_cache* tc = reserved ? nullptr : my_cache();
    if (tc && c.cache_limit) {
        tc->puts.add(1);
        auto& cc = tc->classes[cls];
        uint32_t have = cc.count.load(std::memory_order_relaxed);
        if (have == c.cache_limit) {
            // Full: half goes back to the shared list under one lock.
            uint32_t keep = have / 2;
            std::lock_guard lock(c.mutex);
            c.free.insert(c.free.end(), cc.buffers.begin() + keep, cc.buffers.begin() + have);
            have = keep;
        }
        cc.buffers[have++] = p;
        cc.count.store(have, std::memory_order_relaxed);
        return;
    }
    if (reserved) {
        _reserved.fetch_sub(1, std::memory_order_relaxed);
    } else if (tc) {
        tc->puts.add(1);
    } else {
        _uncached_puts.fetch_add(1, std::memory_order_relaxed);
    }
    std::lock_guard lock(c.mutex);
    c.free.push_back(p);
    if (reserved) {
        --c.reserved;
    }
}

buffer_pool::stats_snapshot buffer_pool::stats() const {
    stats_snapshot s;
    uint64_t puts = _uncached_puts.load(std::memory_order_relaxed);
    s.gets = _uncached_gets.load(std::memory_order_relaxed);
    s.heap_fallbacks = _uncached_fallbacks.load(std::memory_order_relaxed);
    {
        std::lock_guard lock(_caches_mutex);
        for (const auto& tc : _caches) {
            s.gets += tc->gets.load();
            puts += tc->puts.load();
            s.heap_fallbacks += tc->fallbacks.load();
            for (const auto& cc : tc->classes) {
                s.cached += cc.count.load(std::memory_order_relaxed);
            }
        }
    }
    // Read while others get and put, a put may be seen before the get it undid.
    s.in_use = s.gets > puts ? s.gets - puts : 0;
    for (const auto& c : _classes) {
        s.buffers += c.total;
    }
    s.reserved = _reserved.load(std::memory_order_relaxed);
    s.region_bytes = _region_bytes;
    s.hugepages = _hugepages;
    return s;
}

pool_buffer pool_get(size_t n, size_t aligned_at) {
    if (auto* p = buffer_pool::global()) {
        return p->get(n, aligned_at);
    }
    return pool_buffer(bytes(n));
}

} // namespace smbx
