// The process-wide table of open files: share access (MS-FSA 2.1.5.1.2), delete
// pending and delete-on-close (MS-FSA 2.1.5.4), and the current name of each file, keyed
// by (device, inode). Opens from every connection and executor thread meet here, so the
// table is guarded by a mutex; READ and WRITE never take it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dataplane/vfs/byte_range_locks.hh"

namespace smbx::vfs {

struct file_key {
    uint64_t device = 0;
    uint64_t inode = 0;
    std::string stream; // a named stream (its stored name): share modes are per stream
    auto operator<=>(const file_key&) const = default;
};

// One file with at least one open. Fields other than `locks` are guarded by the
// table's mutex; `locks` has its own.
struct file_state {
    struct open_entry {
        const void* owner;
        uint32_t access;
        uint32_t share;
        bool delete_on_close;
    };
    file_key key;
    std::vector<open_entry> opens;
    bool delete_pending = false;
    std::string share_root; // absolute path of the share the name is relative to
    std::string relative;   // current on-disk name under share_root ("a/b")
    byte_range_locks locks;
    // Opens granted read caching (an oplock, or a lease with R), as the SMB2 engine's
    // lease membership counts them (smb2/lease_router.hh): a WRITE tells the arbiter
    // only while another open may cache what it changes.
    std::atomic<uint32_t> read_caching_opens{0};
};

class share_mode_table {
public:
    static share_mode_table& global();

    struct added {
        uint32_t status = 0;
        std::shared_ptr<file_state> state; // set on success
    };
    // Checks the new open against the file's opens and delete-pending state, then
    // registers it. SHARING_VIOLATION or DELETE_PENDING on conflict.
    added add(file_key key, const void* owner, uint32_t access, uint32_t share,
              const std::string& share_root, const std::string& relative);

    struct removed {
        bool delete_file = false; // the last open left with delete pending: unlink it
        std::string share_root;
        std::string relative;
    };
    // Unregisters an open; an open with delete-on-close makes the file delete pending.
    removed remove(file_state& state, const void* owner);

    // FILE_DELETE_ON_CLOSE / FileDispositionInformation on one open.
    void set_delete_on_close(file_state& state, const void* owner, bool on);
    // Whether the file is delete pending or an open will make it so.
    bool delete_pending(const file_state& state);
    void set_delete_pending(file_state& state, bool on);
    void renamed(file_state& state, const std::string& relative);
    std::string relative(const file_state& state);
    // Number of opens of a file (0 when not open).
    size_t open_count(file_key key);
    // Whether any open other than `owner` exists.
    bool has_other_opens(const file_state& state, const void* owner);
    // Whether a file below directory `relative` of share `share_root` is open (such a
    // directory cannot be renamed, as on Windows).
    bool has_opens_under(const std::string& share_root, const std::string& relative);

private:
    std::mutex _mutex;
    std::map<file_key, std::shared_ptr<file_state>> _files;
};

// MS-FSA 2.1.5.1.2.1: whether a new open (access, share) conflicts with an existing one.
bool share_conflict(uint32_t existing_access, uint32_t existing_share, uint32_t access,
                    uint32_t share);

} // namespace smbx::vfs
