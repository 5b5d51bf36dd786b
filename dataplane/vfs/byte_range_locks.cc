#include "dataplane/vfs/byte_range_locks.hh"

#include <algorithm>

#include "common/ntstatus.hh"

namespace smbx::vfs {

bool byte_range_locks::overlap(uint64_t o1, uint64_t l1, uint64_t o2, uint64_t l2) {
    // Zero-length ranges conflict with nothing (MS-FSA 2.1.5.7: they only test).
    if (l1 == 0 || l2 == 0) {
        return false;
    }
    using u128 = unsigned __int128;
    return u128(o1) < u128(o2) + l2 && u128(o2) < u128(o1) + l1;
}

uint32_t byte_range_locks::lock(const void* owner, uint64_t offset, uint64_t length,
                                bool exclusive) {
    std::lock_guard g(_mutex);
    for (const auto& r : _ranges) {
        if (!overlap(r.offset, r.length, offset, length)) {
            continue;
        }
        // An exclusive request conflicts with any overlapping lock, its own included;
        // a shared one only with another open's exclusive lock.
        if (exclusive || (r.exclusive && r.owner != owner)) {
            return status::lock_not_granted;
        }
    }
    _ranges.push_back({owner, offset, length, exclusive});
    _count.store(_ranges.size(), std::memory_order_release);
    return status::success;
}

uint32_t byte_range_locks::unlock(const void* owner, uint64_t offset, uint64_t length) {
    std::lock_guard g(_mutex);
    auto it = std::find_if(_ranges.begin(), _ranges.end(), [&](const range& r) {
        return r.owner == owner && r.offset == offset && r.length == length;
    });
    if (it == _ranges.end()) {
        return status::range_not_locked;
    }
    _ranges.erase(it);
    _count.store(_ranges.size(), std::memory_order_release);
    return status::success;
}

void byte_range_locks::release_all(const void* owner) {
    std::lock_guard g(_mutex);
    std::erase_if(_ranges, [owner](const range& r) { return r.owner == owner; });
    _count.store(_ranges.size(), std::memory_order_release);
}

uint32_t byte_range_locks::check_io(const void* owner, uint64_t offset, uint64_t length,
                                    bool write) {
    if (count() == 0) {
        return status::success;
    }
    std::lock_guard g(_mutex);
    for (const auto& r : _ranges) {
        if (!overlap(r.offset, r.length, offset, length)) {
            continue;
        }
        // Reads are blocked by others' exclusive locks; writes by any shared lock and
        // by others' exclusive locks (MS-FSA 2.1.4.10).
        if (r.exclusive ? r.owner != owner : write) {
            return status::file_lock_conflict;
        }
    }
    return status::success;
}

} // namespace smbx::vfs
