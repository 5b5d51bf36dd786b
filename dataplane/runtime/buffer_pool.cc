#include "dataplane/runtime/buffer_pool.hh"

#include <cerrno>
#include <cstring>
#include <new>
#include <sys/mman.h>

#include "common/log.hh"

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

} // namespace

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

buffer_pool::buffer_pool(size_t region_bytes) {
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
    }
}

buffer_pool::~buffer_pool() {
    if (_global == this) {
        _global = nullptr;
    }
    munmap(_region, _region_bytes);
}

pool_buffer buffer_pool::get(size_t n, size_t aligned_at) {
    constexpr size_t page = 4096;
    size_t lead = aligned_at ? (page - aligned_at % page) % page : 0;
    for (size_t i = 0; i < class_count; ++i) {
        auto& c = _classes[i];
        if (n + lead > c.size) {
            continue;
        }
        uint8_t* p = nullptr;
        {
            std::lock_guard lock(c.mutex);
            if (!c.free.empty()) {
                p = c.free.back();
                c.free.pop_back();
            }
        }
        if (!p) {
            continue; // a larger class may still serve it
        }
        _gets.fetch_add(1, std::memory_order_relaxed);
        _in_use.fetch_add(1, std::memory_order_relaxed);
        pool_buffer b;
        b._base = p;
        b._data = p + lead;
        b._size = n;
        b._capacity = c.size - lead;
        b._pool = this;
        b._class = static_cast<uint8_t>(i);
        return b;
    }
    _fallbacks.fetch_add(1, std::memory_order_relaxed);
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
    (reserved ? _reserved : _in_use).fetch_sub(1, std::memory_order_relaxed);
    auto& c = _classes[cls];
    std::lock_guard lock(c.mutex);
    c.free.push_back(p);
    if (reserved) {
        --c.reserved;
    }
}

buffer_pool::stats_snapshot buffer_pool::stats() const {
    stats_snapshot s;
    s.gets = _gets.load(std::memory_order_relaxed);
    s.heap_fallbacks = _fallbacks.load(std::memory_order_relaxed);
    s.in_use = _in_use.load(std::memory_order_relaxed);
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
