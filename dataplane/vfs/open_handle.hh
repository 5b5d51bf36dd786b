// An open (MS-SMB2 3.3.1.10): what a CREATE returns a FileId for. Files and
// directories (vfs/file_open.hh) and named pipes (rpc/named_pipe.hh) are both opens;
// the SMB2 engine keeps them in the session's table and closes them on CLOSE,
// TREE_DISCONNECT, LOGOFF or disconnect. Here, below the engine, so that vfs and rpc
// derive from it without including smb2/.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace smbx::smb2 {
class connection; // only named: CHANGE_NOTIFY's channels, kept by smb2/change_notify.cc
} // namespace smbx::smb2

namespace smbx::vfs {

struct file_id {
    uint64_t persistent = 0;
    uint64_t volatile_id = 0;
    bool is_related_placeholder() const {
        return persistent == ~0ULL && volatile_id == ~0ULL; // 3.3.5.2.7.2
    }
};

class open_handle {
public:
    virtual ~open_handle() = default;

    file_id id;
    uint64_t session_id = 0;
    uint32_t tree_id = 0;
    uint32_t granted_access = 0; // MS-SMB2 2.2.13.1 access mask after checks
    std::string path;            // share-relative, '/'-separated, for status and logging
    // Set when the open leaves its session's table (CLOSE, TREE_DISCONNECT, LOGOFF):
    // a channel that still holds it from an earlier lookup sees it gone.
    std::atomic<bool> closed{false};

    // The channels (connections) that hold CHANGE_NOTIFY state for this open, with
    // their connection::run_on_strand: a CLOSE on any channel ends the waiting requests
    // on all of them (MS-SMB2 3.3.5.10). Kept by change_notify.cc.
    struct notify_channel {
        const smb2::connection* conn;
        std::function<void(std::function<void(smb2::connection&)>)> run_on_strand;
    };
    std::mutex notify_mutex;
    std::vector<notify_channel> notify_channels;

    // What the SMB2 engine attaches to an open and ends with it: its oplock or lease
    // membership (smb2/lease_router.hh), which tells the arbiter the open is gone
    // whichever way it ends. A member of the base: it ends after the derived open has
    // closed its file, so a CREATE waiting on the arbiter finds the file released.
    struct attachment {
        virtual ~attachment() = default;
    };
    std::unique_ptr<attachment> caching;

    virtual bool is_pipe() const { return false; }
    // A file_open (a file, directory or stream): what as_file_open() casts to.
    virtual bool is_file() const { return false; }
};

} // namespace smbx::vfs
