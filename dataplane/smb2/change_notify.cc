// SMB2 CHANGE_NOTIFY (MS-SMB2 2.2.35, 2.2.36, 3.3.5.19). The open's first request sets
// up an inotify watch (vfs/change_watch.hh) with its CompletionFilter and WATCH_TREE;
// changes are buffered on the open between requests. A request finds buffered
// changes and answers at once, or goes asynchronous until the next change, a CANCEL,
// or the close of the open (STATUS_NOTIFY_CLEANUP). Changes that do not fit the
// request's OutputBufferLength, or more than the open can buffer, give
// STATUS_NOTIFY_ENUM_DIR: the client must enumerate the directory again.
#include "dataplane/smb2/change_notify.hh"

#include "dataplane/smb2/dispatch.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/open_lookup.hh"
#include "dataplane/vfs/access.hh"

namespace smbx::smb2 {

namespace {

constexpr uint16_t watch_tree = 0x0001;

// FILE_NOTIFY_INFORMATION entries (MS-FSCC 2.7.1), each 4-byte aligned. Empty when
// they do not fit in `max_length`.
std::optional<bytes> encode_changes(const std::vector<vfs::change>& changes, uint32_t max_length) {
    byte_writer w;
    size_t last_entry = 0;
    for (size_t i = 0; i < changes.size(); ++i) {
        while (w.size() % 4) {
            w.u8(0);
        }
        if (i > 0) {
            w.patch_u32(last_entry, static_cast<uint32_t>(w.size() - last_entry));
        }
        last_entry = w.size();
        std::string name = changes[i].name;
        for (auto& ch : name) {
            if (ch == '/') {
                ch = '\\';
            }
        }
        bytes n = utf16le(name);
        w.u32(0); // NextEntryOffset, patched when another entry follows
        w.u32(changes[i].action);
        w.u32(static_cast<uint32_t>(n.size()));
        w.put(n);
        if (w.size() > max_length) {
            return std::nullopt;
        }
    }
    return w.take();
}

// CHANGE_NOTIFY Response (2.2.36).
bytes response_body(const bytes& data) {
    byte_writer w;
    w.u16(9);
    w.u16(static_cast<uint16_t>(header_size + 8)); // OutputBufferOffset
    w.u32(static_cast<uint32_t>(data.size()));
    w.put(data);
    return w.take();
}

// Takes the buffered changes for a response of at most `max_length` bytes: the
// status and body to answer with.
std::pair<uint32_t, bytes> take_changes(notify_state& st, uint32_t max_length) {
    std::optional<bytes> data;
    if (!st.overflowed) {
        data = encode_changes(st.buffered, max_length);
    }
    st.buffered.clear();
    st.buffered_bytes = 0;
    st.overflowed = false;
    if (!data) {
        return {status::notify_enum_dir, {}};
    }
    return {status::success, response_body(*data)};
}

} // namespace

void handle_change_notify(request& req, response& resp) {
    auto b = req.body();
    b.u16(); // StructureSize: the command table checked it
    uint16_t flags = b.u16();
    uint32_t output_length = b.u32();
    file_id id = vfs::read_file_id(b);
    uint32_t filter = b.u32();
    if (!b.ok()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto h = open_or_fail(req, resp, id);
    if (!h) {
        return;
    }
    auto dir = vfs::as_file_open(h);
    if (!dir || !dir->is_directory() || output_length > connection::max_transact_size) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (!(h->granted_access & vfs::file_read_data)) { // FILE_LIST_DIRECTORY
        resp.fail(status::access_denied);
        return;
    }
    if (dir->delete_pending()) {
        resp.fail(status::delete_pending);
        return;
    }
    connection& conn = req.conn;
    uint64_t vid = h->id.volatile_id;
    auto& st = conn.notifies[vid];
    if (!st) {
        auto state = std::make_unique<notify_state>();
        state->session_id = req.sess->id;
        state->filter = filter;
        state->max_bytes = output_length;
        state->recursive = flags & watch_tree;
        std::string path = dir->share_root();
        std::string rel = dir->relative_name();
        if (!rel.empty()) {
            path += "/" + rel;
        }
        {
            std::lock_guard lock(h->notify_mutex);
            h->notify_channels.push_back({&conn, conn.run_on_strand});
        }
        auto runner = conn.run_on_strand;
        state->watch = vfs::change_watch::start(
            path, state->recursive, [runner, vid](std::vector<vfs::change> changes) {
                if (runner) {
                    runner([vid, changes = std::move(changes)](connection& c) mutable {
                        notify_changes(c, vid, std::move(changes));
                    });
                }
            });
        if (!state->watch) {
            conn.notifies.erase(vid);
            resp.fail(status::insufficient_resources);
            return;
        }
        st = std::move(state);
    }
    if (!req.last_in_chain) {
        // In the middle of a compound only buffered changes can answer; waiting there
        // is refused the way Samba and Windows do (MS-SMB2 3.3.5.2.7, smbtorture
        // smb2.compound.interim2).
        if (!st->overflowed && st->buffered.empty()) {
            resp.fail(status::internal_error);
            return;
        }
        auto [s, body] = take_changes(*st, output_length);
        if (s != status::success) {
            resp.fail(s);
            return;
        }
        resp.body.put(body);
        return;
    }
    // The request waits, even with changes buffered: the watcher may still hold changes
    // made before this request arrived. After the sync the buffer has them all and the
    // oldest waiting request takes it (notify_changes()).
    uint64_t async_id = go_async(req, resp);
    st->waiting.push_back({async_id, output_length});
    st->watch->sync();
}

void notify_changes(connection& conn, uint64_t volatile_id, std::vector<vfs::change> changes) {
    auto it = conn.notifies.find(volatile_id);
    if (it == conn.notifies.end()) {
        return; // closed meanwhile
    }
    notify_state& st = *it->second;
    if (changes.empty()) {
        // A directory being deleted ends the waiting requests with DELETE_PENDING,
        // as Windows does (smbtorture smb2.notify.rmdir*).
        auto dir = vfs::as_file_open(conn.find_open(st.session_id, {volatile_id, volatile_id}));
        if (dir && dir->delete_pending()) {
            auto waiting = std::exchange(st.waiting, {});
            for (auto& w : waiting) {
                complete_async(conn, w.async_id, status::delete_pending, {});
            }
            return;
        }
    }
    for (auto& c : changes) {
        if (c.action == 0) {
            st.overflowed = true; // events were lost
        } else if (c.filter & st.filter) {
            st.add(std::move(c));
        }
    }
    if (!st.overflowed && st.buffered.empty()) {
        return;
    }
    while (!st.waiting.empty()) {
        auto w = st.waiting.front();
        st.waiting.pop_front();
        if (!conn.async_ops.find(w.async_id)) {
            continue; // cancelled
        }
        auto [s, body] = take_changes(st, w.output_length);
        complete_async(conn, w.async_id, s, body);
        return;
    }
}

void end_notifies(connection& conn, uint64_t volatile_id) {
    auto it = conn.notifies.find(volatile_id);
    if (it == conn.notifies.end()) {
        return;
    }
    auto st = std::move(it->second);
    conn.notifies.erase(it);
    for (auto& w : st->waiting) {
        complete_async(conn, w.async_id, status::notify_cleanup, {});
    }
}

void end_notifies(connection& conn, open_handle& h) {
    const uint64_t vid = h.id.volatile_id;
    end_notifies(conn, vid);
    std::vector<open_handle::notify_channel> channels;
    {
        std::lock_guard lock(h.notify_mutex);
        channels = std::exchange(h.notify_channels, {});
    }
    for (auto& c : channels) {
        if (c.conn != &conn && c.run_on_strand) {
            c.run_on_strand([vid](connection& other) { end_notifies(other, vid); });
        }
    }
}

} // namespace smbx::smb2
