#include "dataplane/smb2/lease_router.hh"

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/smb2/dispatch.hh"

namespace smbx::smb2 {

namespace {

// An oplock break's OplockLevel (2.2.23.1): the most the client may keep.
uint8_t oplock_level_of(uint8_t caching) {
    return (caching & lease_read_caching) ? 0x01 : 0x00; // SMB2_OPLOCK_LEVEL_II, or NONE
}

// On the strand of the connection that holds the open: the notification, for as long as
// the open's session is still there.
void send_break(connection& c, uint64_t session_id, const std::weak_ptr<open_handle>& open,
                const ipc::lease_break& b) {
    session* s = c.find_session(session_id);
    auto h = open.lock();
    if (!s || !h) {
        return;
    }
    // The FileId is read here: the CREATE that made the open may have been answered
    // (and the open numbered) only just before this task, on this same strand.
    file_id id = h->id;
    if (auto* m = membership_of(*h)) {
        m->set_caching(b.to);
    }
    // NewEpoch is a 3.x field; 2.1 reserves it (2.2.23.2).
    bytes body = b.lease ? write_lease_break_notification(b.lease_key, b.from, b.to,
                                                          c.is_smb3() ? b.epoch : 0, b.ack_required)
                         : write_oplock_break(oplock_level_of(b.to), id);
    queue_notification(c, *s, command::oplock_break, body);
    auto& d = counters::data();
    counters::add(b.lease ? d.lease_breaks_sent : d.oplock_breaks_sent, 1);
}

} // namespace

uint64_t lease_router::releases() const {
    std::lock_guard lock(_mutex);
    return _releases;
}

void lease_router::wait_for_release(const std::string& file, uint64_t seen,
                                    std::function<void(connection::strand_task)> run_on_strand,
                                    connection::strand_task retry) {
    {
        std::lock_guard lock(_mutex);
        if (_releases == seen) {
            _waiting.emplace(file, waiter{std::move(run_on_strand), std::move(retry)});
            return;
        }
    }
    if (run_on_strand) {
        run_on_strand(std::move(retry));
    }
}

void lease_router::on_notice(const bytes& message) {
    auto h = ipc::decode_header(message);
    if (!h) {
        return;
    }
    if (h->type == ipc::msg_type::lease_break) {
        if (auto b = ipc::decode_fields<ipc::lease_break>(message)) {
            deliver_break(*b);
        }
    } else if (h->type == ipc::msg_type::lease_released) {
        if (auto r = ipc::decode_fields<ipc::lease_released>(message)) {
            released(r->file);
        }
    }
}

void lease_router::deliver_break(const ipc::lease_break& b) {
    auto e = _opens.find(b.via);
    if (!e || !e->run_on_strand) {
        // The open ended meanwhile: its CLOSE told the arbiter, which ends the break.
        LOG_DEBUG("lease break for open %llu, which is gone",
                  static_cast<unsigned long long>(b.via));
        return;
    }
    e->run_on_strand(
        [b, sid = e->session_id, open = e->open](connection& c) { send_break(c, sid, open, b); });
}

void lease_router::released(const std::string& file) {
    std::vector<waiter> ready;
    {
        std::lock_guard lock(_mutex);
        ++_releases;
        auto [from, to] = _waiting.equal_range(file);
        for (auto it = from; it != to; ++it) {
            ready.push_back(std::move(it->second));
        }
        _waiting.erase(from, to);
    }
    for (auto& w : ready) {
        if (w.run_on_strand) {
            w.run_on_strand(std::move(w.retry));
        }
    }
}

lease_membership::~lease_membership() {
    set_caching(0);
    router->opens().remove(ref);
    router->arbiter().lease_close(ref);
}

void lease_membership::set_caching(uint8_t c) {
    bool had = _caching.exchange(c, std::memory_order_acq_rel) & lease_read_caching;
    bool has = c & lease_read_caching;
    if (file && had != has) {
        if (has) {
            file->read_caching_opens.fetch_add(1, std::memory_order_relaxed);
        } else {
            file->read_caching_opens.fetch_sub(1, std::memory_order_relaxed);
        }
    }
}

void tell_write(const vfs::file_open& f) {
    auto* m = membership_of(f);
    if (!m || !m->file) {
        return; // outside arbitration: no router, a directory, a stat open
    }
    uint8_t own = m->caching();
    uint32_t counted = m->file->read_caching_opens.load(std::memory_order_relaxed);
    bool others = counted > ((own & lease_read_caching) ? 1u : 0u);
    bool own_level_ii = !m->lease && own == lease_read_caching;
    if (others || own_level_ii) {
        m->router->arbiter().lease_write(m->ref, m->file_key);
    }
}

lease_membership* membership_of(const open_handle& open) {
    return dynamic_cast<lease_membership*>(open.caching.get());
}

std::string caching_text(const open_handle& open) {
    auto* m = membership_of(open);
    uint8_t c = m ? m->caching() : 0;
    if (c == 0) {
        return {};
    }
    if (!m->lease) {
        return c == lease_read_caching      ? "level2"
               : (c & lease_handle_caching) ? "batch"
                                            : "exclusive";
    }
    std::string s = "lease ";
    s += (c & lease_read_caching) ? "R" : "";
    s += (c & lease_handle_caching) ? "H" : "";
    s += (c & lease_write_caching) ? "W" : "";
    return s;
}

std::string arbiter_file_key(uint64_t device, uint64_t inode, const std::string& stream) {
    return std::to_string(device) + ":" + std::to_string(inode) + ":" + stream;
}

} // namespace smbx::smb2
