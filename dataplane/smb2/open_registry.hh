// Every open of the data plane under a process-unique id, the arbiter's open_ref
// (control/leases): how a lease or oplock break decided in smbx-control finds the
// connection that holds the open, whichever worker owns it. CREATE adds, CLOSE (and a
// connection's end) removes; the lock is taken on those and on a break, never on READ
// or WRITE.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "dataplane/smb2/connection.hh"

namespace smbx::smb2 {

class open_registry {
public:
    struct entry {
        std::weak_ptr<vfs::open_handle> open;
        // The holding connection's strand runner (connection::run_on_strand).
        std::function<void(connection::strand_task)> run_on_strand;
        uint64_t session_id = 0;
    };

    // The open's id for the arbiter: never 0, never reused in this process.
    uint64_t add(entry e);
    void remove(uint64_t ref);
    std::optional<entry> find(uint64_t ref) const;
    size_t size() const;

private:
    mutable std::mutex _mutex;
    std::unordered_map<uint64_t, entry> _entries;
    uint64_t _next = 1;
};

} // namespace smbx::smb2
