#include "dataplane/smb2/connection.hh"

#include "dataplane/control_client.hh"
#include "dataplane/smb2/change_notify.hh"

namespace smbx::smb2 {

connection::~connection() {
    // Authentication exchanges left half-way hold state in the control plane.
    for (auto& [id, s] : sessions) {
        if (s->auth_id) {
            control.abandon(s->auth_id);
        }
    }
}

void connection::remove_session(uint64_t id) {
    close_opens_of(id, 0);
    // Whatever else the session still waits on ends with it (3.3.4.13, 3.3.5.6).
    for (uint64_t async_id : async_ops.ids_of(id, 0)) {
        async_ops.remove(async_id);
    }
    sessions.erase(id);
}

file_id connection::add_open(std::shared_ptr<open_handle> h) {
    uint64_t v = _next_volatile_id++;
    h->id = file_id{v, v};
    _opens[v] = h;
    return h->id;
}

std::shared_ptr<open_handle> connection::find_open(const file_id& id) const {
    auto it = _opens.find(id.volatile_id);
    if (it == _opens.end() || it->second->id.persistent != id.persistent) {
        return nullptr;
    }
    return it->second;
}

void connection::remove_open(const file_id& id) {
    end_notifies(*this, id.volatile_id);
    _opens.erase(id.volatile_id);
}

void connection::close_opens_of(uint64_t session_id, uint32_t tree_id) {
    for (auto it = _opens.begin(); it != _opens.end();) {
        auto& h = *it->second;
        if (h.session_id == session_id && (tree_id == 0 || h.tree_id == tree_id)) {
            end_notifies(*this, it->first);
            it = _opens.erase(it); // the open's destructor releases its file
        } else {
            ++it;
        }
    }
}

} // namespace smbx::smb2
