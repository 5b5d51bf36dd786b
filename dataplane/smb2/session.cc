#include "dataplane/smb2/session.hh"

#include <openssl/rand.h>

namespace smbx::smb2 {

namespace {
std::atomic<uint64_t> next_volatile_id{1};
} // namespace

uint32_t session::new_tree_id() {
    std::lock_guard lock(_mutex);
    return _next_tree_id++;
}

void session::add_tree(std::shared_ptr<tree_connect> t) {
    std::lock_guard lock(_mutex);
    _trees[t->id] = std::move(t);
}

std::shared_ptr<tree_connect> session::find_tree(uint32_t id) const {
    std::lock_guard lock(_mutex);
    auto it = _trees.find(id);
    return it == _trees.end() ? nullptr : it->second;
}

void session::remove_tree(uint32_t id) {
    std::lock_guard lock(_mutex);
    auto it = _trees.find(id);
    if (it != _trees.end()) {
        it->second->disconnected = true;
        _trees.erase(it);
    }
}

std::vector<std::shared_ptr<tree_connect>> session::trees() const {
    std::lock_guard lock(_mutex);
    std::vector<std::shared_ptr<tree_connect>> out;
    for (auto& [id, t] : _trees) {
        out.push_back(t);
    }
    return out;
}

file_id session::add_open(std::shared_ptr<open_handle> h) {
    uint64_t v = next_volatile_id.fetch_add(1, std::memory_order_relaxed);
    h->id = file_id{v, v}; // no durable handles yet: persistent id = volatile id
    std::lock_guard lock(_mutex);
    _opens[v] = h;
    return h->id;
}

std::shared_ptr<open_handle> session::find_open(const file_id& id) const {
    std::lock_guard lock(_mutex);
    auto it = _opens.find(id.volatile_id);
    if (it == _opens.end() || it->second->id.persistent != id.persistent) {
        return nullptr;
    }
    return it->second;
}

std::shared_ptr<open_handle> session::remove_open(const file_id& id) {
    std::lock_guard lock(_mutex);
    auto it = _opens.find(id.volatile_id);
    if (it == _opens.end()) {
        return nullptr;
    }
    auto h = std::move(it->second);
    _opens.erase(it);
    h->closed = true;
    return h;
}

std::vector<std::shared_ptr<open_handle>> session::take_opens(uint32_t tree_id) {
    std::lock_guard lock(_mutex);
    std::vector<std::shared_ptr<open_handle>> out;
    for (auto it = _opens.begin(); it != _opens.end();) {
        if (tree_id == 0 || it->second->tree_id == tree_id) {
            it->second->closed = true;
            out.push_back(std::move(it->second));
            it = _opens.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

std::vector<std::shared_ptr<open_handle>> session::opens() const {
    std::lock_guard lock(_mutex);
    std::vector<std::shared_ptr<open_handle>> out;
    for (auto& [v, h] : _opens) {
        out.push_back(h);
    }
    return out;
}

void session_table::add_new(const std::shared_ptr<session>& s) {
    std::lock_guard lock(_mutex);
    uint64_t id = 0;
    while (id == 0 || id == ~0ULL || _sessions.count(id)) {
        RAND_bytes(reinterpret_cast<uint8_t*>(&id), sizeof id);
    }
    s->id = id;
    _sessions[id] = s;
}

std::shared_ptr<session> session_table::find(uint64_t id) const {
    std::lock_guard lock(_mutex);
    auto it = _sessions.find(id);
    return it == _sessions.end() ? nullptr : it->second;
}

void session_table::remove(uint64_t id) {
    std::lock_guard lock(_mutex);
    _sessions.erase(id);
}

size_t session_table::size() const {
    std::lock_guard lock(_mutex);
    return _sessions.size();
}

std::vector<std::shared_ptr<session>> session_table::all() const {
    std::lock_guard lock(_mutex);
    std::vector<std::shared_ptr<session>> out;
    out.reserve(_sessions.size());
    for (auto& [id, s] : _sessions) {
        out.push_back(s);
    }
    return out;
}

} // namespace smbx::smb2
