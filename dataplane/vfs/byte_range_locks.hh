// Byte-range locks of one file (MS-FSA 2.1.5.7, MS-SMB2 3.3.5.14). Locks belong to an
// open. READ and WRITE check them; the check is one atomic load while no lock is held.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace smbx::vfs {

class byte_range_locks {
public:
    // SUCCESS, or LOCK_NOT_GRANTED when an overlapping lock conflicts (blocking waits
    // are not implemented: a lock that would wait fails at once).
    uint32_t lock(const void* owner, uint64_t offset, uint64_t length, bool exclusive);
    // SUCCESS, or RANGE_NOT_LOCKED unless `owner` holds exactly this range.
    uint32_t unlock(const void* owner, uint64_t offset, uint64_t length);
    void release_all(const void* owner);
    // Whether `owner` may read (write) the range: FILE_LOCK_CONFLICT otherwise.
    uint32_t check_io(const void* owner, uint64_t offset, uint64_t length, bool write);
    size_t count() const { return _count.load(std::memory_order_acquire); }

private:
    struct range {
        const void* owner;
        uint64_t offset;
        uint64_t length;
        bool exclusive;
    };
    static bool overlap(uint64_t o1, uint64_t l1, uint64_t o2, uint64_t l2);

    std::mutex _mutex;
    std::vector<range> _ranges;
    std::atomic<size_t> _count{0};
};

} // namespace smbx::vfs
