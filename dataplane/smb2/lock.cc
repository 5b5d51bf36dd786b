// SMB2 LOCK (MS-SMB2 2.2.26, 2.2.27, 3.3.5.14) over the file's process-wide byte-range
// lock table (vfs/byte_range_locks.hh). Asynchronous waits are not implemented: a lock
// without FAIL_IMMEDIATELY that conflicts fails at once with LOCK_NOT_GRANTED, as if it
// had been cancelled. Lock sequence numbers (resilient handles) are ignored.
#include <vector>

#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/lease_router.hh"
#include "dataplane/smb2/lock_request.hh"
#include "dataplane/smb2/open_lookup.hh"
#include "dataplane/vfs/access.hh"

namespace smbx::smb2 {

namespace {

constexpr uint32_t lockflag_shared = 0x01;
constexpr uint32_t lockflag_exclusive = 0x02;
constexpr uint32_t lockflag_unlock = 0x04;
constexpr uint32_t lockflag_fail_immediately = 0x10;
constexpr uint32_t status_invalid_lock_range = 0xC00001A1;

// 3.3.5.14: all elements unlock, or all lock with one of the valid combinations; a
// lock that may wait is allowed only alone.
bool valid_flags(const std::vector<lock_element>& locks) {
    bool unlock = locks[0].flags == lockflag_unlock;
    for (const auto& l : locks) {
        if (unlock) {
            if (l.flags != lockflag_unlock) {
                return false;
            }
            continue;
        }
        uint32_t kind = l.flags & ~lockflag_fail_immediately;
        if (kind != lockflag_shared && kind != lockflag_exclusive) {
            return false;
        }
        if (!(l.flags & lockflag_fail_immediately) && locks.size() > 1) {
            return false;
        }
    }
    return true;
}

} // namespace

void handle_lock(request& req, response& resp) {
    auto parsed = parse_lock_request(req.message.subspan(header_size));
    if (!parsed) {
        resp.fail(status::invalid_parameter);
        return;
    }
    const auto& locks = parsed->locks;
    auto h = open_or_fail(req, resp, parsed->id);
    if (!h) {
        return;
    }
    auto f = vfs::as_file_open(h);
    if (!f || f->is_directory() || !f->state()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (!valid_flags(locks)) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (!(h->granted_access & (vfs::file_read_data | vfs::file_write_data))) {
        resp.fail(status::access_denied);
        return;
    }
    auto& table = f->state()->locks;
    tell_write(*f); // a byte-range lock breaks level II oplocks (MS-FSA 2.1.5.7)
    for (size_t i = 0; i < locks.size(); ++i) {
        const auto& l = locks[i];
        if (l.length && l.offset + l.length - 1 < l.offset) {
            resp.fail(status_invalid_lock_range); // past 2^64
            return;
        }
        uint32_t st = (l.flags & lockflag_unlock)
                          ? table.unlock(f.get(), l.offset, l.length)
                          : table.lock(f.get(), l.offset, l.length, l.flags & lockflag_exclusive);
        if (st != status::success) {
            // A failed lock undoes the ones this request took (3.3.5.14).
            if (!(l.flags & lockflag_unlock)) {
                for (size_t k = 0; k < i; ++k) {
                    table.unlock(f.get(), locks[k].offset, locks[k].length);
                }
            }
            resp.fail(st);
            return;
        }
    }
    resp.body.u16(4);
    resp.body.u16(0); // Reserved
}

} // namespace smbx::smb2
