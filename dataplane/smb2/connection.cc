#include "dataplane/smb2/connection.hh"

#include "dataplane/control_client.hh"
#include "dataplane/smb2/change_notify.hh"

namespace smbx::smb2 {

connection::~connection() {
    // Authentication exchanges left half-way hold state in the control plane.
    for (auto& [id, b] : bindings) {
        if (b.auth_id) {
            control.abandon(b.auth_id);
        }
    }
    while (!sessions.empty()) {
        auto& s = *sessions.begin()->second.sess;
        // Only the session's last channel may drop a half-way re-authentication: on
        // another channel it belongs to a connection that lives on.
        if (s.auth_id && s.channels.load() == 1) {
            control.abandon(s.auth_id);
            s.auth_id = 0;
        }
        remove_session(s.id);
    }
}

const bytes& connection::signing_key_of(const session& s) const {
    auto it = sessions.find(s.id);
    if (it != sessions.end() && !it->second.signing_key.empty()) {
        return it->second.signing_key;
    }
    return s.signing_key;
}

session& connection::add_new_session() {
    auto s = std::make_shared<session>();
    s->dialect = dialect;
    s->client_guid = client_guid;
    s->client_address = client_address;
    s->cipher_id = cipher_id;
    s->signing_alg = signing_alg;
    all_sessions->add_new(s);
    auto& ref = *s;
    add_channel(std::move(s));
    return ref;
}

void connection::add_channel(std::shared_ptr<session> s, bytes signing_key) {
    s->channels.fetch_add(1);
    uint64_t id = s->id;
    sessions[id] = channel{std::move(s), std::move(signing_key)};
}

void connection::remove_session(uint64_t id) {
    auto it = sessions.find(id);
    if (it == sessions.end()) {
        return;
    }
    auto s = std::move(it->second.sess);
    sessions.erase(it);
    // Whatever this connection still waits on for the session ends with it (3.3.4.13,
    // 3.3.5.6).
    for (uint64_t async_id : async_ops.ids_of(id, 0)) {
        async_ops.remove(async_id);
    }
    bool last = s->channels.fetch_sub(1) == 1;
    if (s->logged_off || last) {
        end_session(*s); // 3.3.5.6 LOGOFF, 3.3.7.1 its last connection gone
    }
}

void connection::end_session(session& s) {
    // Other channels see logged_off and drop the session at their next message.
    s.logged_off = true;
    s.st = session::state::expired;
    all_sessions->remove(s.id);
    close_opens_of(s, 0);
}

void connection::drop_ended_sessions() {
    for (auto it = sessions.begin(); it != sessions.end();) {
        uint64_t id = it->first;
        bool ended = it->second.sess->logged_off;
        ++it;
        if (ended) {
            remove_session(id);
        }
    }
}

std::shared_ptr<open_handle> connection::find_open(uint64_t session_id, const file_id& id) {
    session* s = find_session(session_id);
    return s ? find_open(*s, id) : nullptr;
}

std::shared_ptr<open_handle> connection::find_open(session& s, const file_id& id) {
    auto it = _seen_opens.find(id.volatile_id);
    if (it != _seen_opens.end()) {
        auto h = it->second.lock();
        if (h && !h->closed.load(std::memory_order_acquire)) {
            return h->session_id == s.id && h->id.persistent == id.persistent ? h : nullptr;
        }
        _seen_opens.erase(it);
    }
    auto h = s.find_open(id);
    if (h) {
        if (_seen_opens.size() >= 1024) {
            std::erase_if(_seen_opens, [](const auto& e) { return e.second.expired(); });
        }
        _seen_opens[id.volatile_id] = h;
    }
    return h;
}

std::shared_ptr<tree_connect> connection::find_tree(session& s, uint32_t id) {
    auto key = std::make_pair(s.id, id);
    auto it = _seen_trees.find(key);
    if (it != _seen_trees.end()) {
        auto t = it->second.lock();
        if (t && !t->disconnected.load(std::memory_order_acquire)) {
            return t;
        }
        _seen_trees.erase(it);
    }
    auto t = s.find_tree(id);
    if (t) {
        if (_seen_trees.size() >= 256) {
            std::erase_if(_seen_trees, [](const auto& e) { return e.second.expired(); });
        }
        _seen_trees[key] = t;
    }
    return t;
}

void connection::remove_open(session& s, const file_id& id) {
    auto h = s.remove_open(id); // dropped here: the open's destructor releases its file
    if (h) {
        end_notifies(*this, *h);
    }
}

void connection::close_opens_of(session& s, uint32_t tree_id) {
    for (auto& h : s.take_opens(tree_id)) {
        end_notifies(*this, *h);
    }
}

} // namespace smbx::smb2
