// CHANGE_NOTIFY state of one directory open (MS-SMB2 3.3.1.10 Open, 3.3.5.19): the
// watch set up by the open's first CHANGE_NOTIFY (its CompletionFilter and WATCH_TREE
// stay for the open's life, as on Windows and Samba), the changes seen since the last
// response, and the requests waiting for changes.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "dataplane/vfs/change_watch.hh"

namespace smbx::smb2 {

struct notify_state {
    struct waiter {
        uint64_t async_id;
        uint32_t output_length; // the request's OutputBufferLength
    };

    std::unique_ptr<vfs::change_watch> watch;
    uint64_t session_id = 0; // the directory open's session
    uint32_t filter = 0;
    bool recursive = false;
    uint32_t max_bytes = 0;            // the first request's OutputBufferLength bounds the buffer
    std::vector<vfs::change> buffered; // changes no response has carried yet
    size_t buffered_bytes = 0;         // their FILE_NOTIFY_INFORMATION size
    bool overflowed = false;           // too many changes: the next response is NOTIFY_ENUM_DIR
    std::deque<waiter> waiting;        // oldest first; cancelled ones are skipped

    static constexpr size_t max_buffered = 4096;

    // Buffers a change that passed the filter; an identical change right after another
    // is kept once. Past max_bytes (or max_buffered) the buffer overflows.
    void add(vfs::change c) {
        if (overflowed) {
            return;
        }
        // Windows reports the MODIFIED of a renamed file only to watchers that do not
        // see the rename itself (smbtorture smb2.notify.mask-change against .rec).
        if (c.after_rename &&
            (filter & (vfs::notify_change_file_name | vfs::notify_change_dir_name))) {
            return;
        }
        if (!buffered.empty() && buffered.back().action == c.action &&
            buffered.back().name == c.name) {
            return;
        }
        size_t entry = (12 + 2 * c.name.size() + 3) & ~size_t(3); // UTF-16 size, ASCII estimate
        if (buffered.size() >= max_buffered || buffered_bytes + entry > max_bytes + 3) {
            overflowed = true;
            buffered.clear();
            buffered_bytes = 0;
            return;
        }
        buffered_bytes += entry;
        buffered.push_back(std::move(c));
    }
};

} // namespace smbx::smb2
