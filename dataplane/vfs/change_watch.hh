// Directory change watching for CHANGE_NOTIFY (MS-SMB2 3.3.5.19): one inotify
// instance per process, read by one watcher thread, so no network worker or request
// thread ever blocks on it. A watch covers one directory, or with `recursive` (the
// WATCH_TREE flag) its whole subtree: watches are added for every subdirectory, at
// start and as directories are created or moved in (up to max_tree_dirs). Changes go
// to the watch's sink on the watcher thread; the sink must only hand them on (post to
// a strand), never block. About once a second every sink also gets an empty batch,
// so that state no file system event shows (a directory gone delete-pending) is
// noticed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace smbx::vfs {

// FILE_NOTIFY_CHANGE_* (MS-SMB2 2.2.35 CompletionFilter).
constexpr uint32_t notify_change_file_name = 0x001;
constexpr uint32_t notify_change_dir_name = 0x002;
constexpr uint32_t notify_change_attributes = 0x004;
constexpr uint32_t notify_change_size = 0x008;
constexpr uint32_t notify_change_last_write = 0x010;
constexpr uint32_t notify_change_last_access = 0x020;
constexpr uint32_t notify_change_creation = 0x040;
constexpr uint32_t notify_change_ea = 0x080;
constexpr uint32_t notify_change_security = 0x100;

// FILE_ACTION_* (MS-FSCC 2.7.1).
constexpr uint32_t file_action_added = 1;
constexpr uint32_t file_action_removed = 2;
constexpr uint32_t file_action_modified = 3;
constexpr uint32_t file_action_renamed_old_name = 4;
constexpr uint32_t file_action_renamed_new_name = 5;

struct change {
    uint32_t action = 0;       // FILE_ACTION_*; 0: events were lost (inotify queue overflow)
    uint32_t filter = 0;       // the FILE_NOTIFY_CHANGE_* bits this change matches
    std::string name;          // relative to the watched directory, '/'-separated
    bool after_rename = false; // the MODIFIED Windows adds for a renamed file's new name
};

class change_watch {
public:
    using sink = std::function<void(std::vector<change>)>;
    static constexpr size_t max_tree_dirs = 4096;

    // Starts watching `dir` (an absolute path). nullptr if inotify refuses.
    static std::unique_ptr<change_watch> start(const std::string& dir, bool recursive, sink s);
    ~change_watch(); // stops the watch; the sink is not called after this returns

    // Delivers every change the kernel has queued so far, then an empty batch: after
    // that empty batch the sink has seen everything that happened before this call.
    void sync();

    change_watch(const change_watch&) = delete;
    change_watch& operator=(const change_watch&) = delete;

private:
    explicit change_watch(uint64_t id) : _id(id) {}
    uint64_t _id;
};

} // namespace smbx::vfs
