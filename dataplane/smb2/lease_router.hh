// Oplocks and leases on the data plane's side. The arbiter in smbx-control decides who
// may cache what (lease_arbitration.hh, control/leases); this routes what it sends back,
// on the thread that polls the control ring:
// - a break (MS-SMB2 3.3.4.6 oplock, 3.3.4.7 lease) goes to the connection that holds
//   the open it names, whichever worker owns it, and is sent from that connection's
//   strand (a lease's on the connection of the open the arbiter chose: any open of the
//   lease serves, as the notification names the lease, not the open);
// - a release (the breaks a CREATE waited for ended) wakes the CREATEs waiting on that
//   file, each on its own connection's strand.
// One per data plane, shared by every connection (connection::leases). An open the
// arbiter knows carries a lease_membership, which tells the arbiter when the open ends.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/lease_ipc.hh"
#include "dataplane/lease_arbitration.hh"
#include "dataplane/smb2/connection.hh"
#include "dataplane/smb2/lease_messages.hh"
#include "dataplane/smb2/open_registry.hh"
#include "dataplane/vfs/file_open.hh"

namespace smbx::smb2 {

class lease_router {
public:
    explicit lease_router(lease_arbitration& arbiter) : _arbiter(arbiter) {}

    lease_arbitration& arbiter() { return _arbiter; }
    open_registry& opens() { return _opens; }

    // How many releases came so far: read before asking the arbiter and given to the
    // waits below, so that a release arriving between the answer and the wait is not
    // missed (the CREATE then simply asks again).
    uint64_t releases() const;
    // Runs `retry` on the strand (run_on_strand) once `file` is released, or at once if
    // any release came after `seen`.
    void wait_for_release(const std::string& file, uint64_t seen,
                          std::function<void(connection::strand_task)> run_on_strand,
                          connection::strand_task retry);

    // A notice the arbiter sent: a lease_break or a lease_released message.
    void on_notice(const bytes& message);

private:
    struct waiter {
        std::function<void(connection::strand_task)> run_on_strand;
        connection::strand_task retry;
    };
    void deliver_break(const ipc::lease_break& b);
    void released(const std::string& file);

    lease_arbitration& _arbiter;
    open_registry _opens;
    mutable std::mutex _mutex;
    uint64_t _releases = 0;
    std::multimap<std::string, waiter> _waiting;
};

// An open's place in arbitration, attached to the open (open_handle::caching): its id
// there, and what it holds by (its lease, or its own oplock). Ending it removes the
// open from the registry and tells the arbiter.
struct lease_membership final : vfs::open_handle::attachment {
    std::shared_ptr<lease_router> router;
    uint64_t ref = 0;
    bool lease = false;
    lease_key key{};
    uint8_t lease_version = 1;
    std::string file_key; // arbiter_file_key
    // Counted in file->read_caching_opens while `caching` has read caching.
    std::shared_ptr<vfs::file_state> file;
    ~lease_membership() override;

    // What the open's owner caches as last seen here: the grant, the breaks sent for
    // this open, the oplock acknowledgements. Exact for an oplock; for a lease (whose
    // other opens are not told of its breaks) it may be more than the lease holds,
    // which costs a WRITE a needless message, never a missed break.
    void set_caching(uint8_t c);
    uint8_t caching() const { return _caching.load(std::memory_order_acquire); }

private:
    std::atomic<uint8_t> _caching{0};
};

// A WRITE, a byte-range lock or a size change through `f` (MS-FSA 2.1.4.12: they break
// level II oplocks and read caching): the arbiter is told when another open may cache
// the file, or when `f` holds a level II oplock itself (which its own write breaks, as
// Windows does). Nothing is sent for a file nobody else caches.
void tell_write(const vfs::file_open& f);

// The membership of `open`, if it has one.
lease_membership* membership_of(const open_handle& open);
// What `open` caches, for status: "" (nothing or not arbitrated), "level2",
// "exclusive", "batch", or "lease " and the state's letters (R, RH, RW, RWH).
std::string caching_text(const open_handle& open);

// The arbiter's name for a file: device, inode and stream.
std::string arbiter_file_key(uint64_t device, uint64_t inode, const std::string& stream);

} // namespace smbx::smb2
