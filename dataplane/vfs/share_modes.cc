#include "dataplane/vfs/share_modes.hh"

#include <algorithm>

#include "common/ntstatus.hh"
#include "dataplane/vfs/access.hh"

namespace smbx::vfs {

namespace {

constexpr uint32_t data_access =
    file_read_data | file_write_data | file_append_data | file_execute | delete_access;

} // namespace

bool share_conflict(uint32_t existing_access, uint32_t existing_share, uint32_t access,
                    uint32_t share) {
    // Opens that touch neither data nor deletion (attribute-only) never conflict.
    if (!(existing_access & data_access) || !(access & data_access)) {
        return false;
    }
    auto denies = [](uint32_t acc, uint32_t other_share) {
        return ((acc & (file_read_data | file_execute)) && !(other_share & file_share_read)) ||
               ((acc & (file_write_data | file_append_data)) &&
                !(other_share & file_share_write)) ||
               ((acc & delete_access) && !(other_share & file_share_delete));
    };
    return denies(existing_access, share) || denies(access, existing_share);
}

share_mode_table& share_mode_table::global() {
    static share_mode_table table;
    return table;
}

share_mode_table::added share_mode_table::add(file_key key, const void* owner, uint32_t access,
                                              uint32_t share, const std::string& share_root,
                                              const std::string& relative) {
    std::lock_guard g(_mutex);
    auto& slot = _files[key];
    if (!slot) {
        slot = std::make_shared<file_state>();
        slot->key = key;
        slot->share_root = share_root;
        slot->relative = relative;
    }
    added out;
    if (slot->delete_pending) {
        out.status = status::delete_pending;
        return out;
    }
    for (const auto& o : slot->opens) {
        if (share_conflict(o.access, o.share, access, share)) {
            out.status = status::sharing_violation;
            return out;
        }
    }
    slot->opens.push_back({owner, access, share, false});
    out.state = slot;
    return out;
}

share_mode_table::removed share_mode_table::remove(file_state& state, const void* owner) {
    std::lock_guard g(_mutex);
    removed out;
    auto it = std::find_if(state.opens.begin(), state.opens.end(),
                           [owner](const auto& o) { return o.owner == owner; });
    if (it == state.opens.end()) {
        return out;
    }
    if (it->delete_on_close) {
        state.delete_pending = true;
    }
    state.opens.erase(it);
    if (state.opens.empty()) {
        out.delete_file = state.delete_pending;
        out.share_root = state.share_root;
        out.relative = state.relative;
        auto f = _files.find(state.key);
        if (f != _files.end() && f->second.get() == &state) {
            _files.erase(f);
        }
    }
    return out;
}

void share_mode_table::set_delete_on_close(file_state& state, const void* owner, bool on) {
    std::lock_guard g(_mutex);
    for (auto& o : state.opens) {
        if (o.owner == owner) {
            o.delete_on_close = on;
        }
    }
}

bool share_mode_table::delete_pending(const file_state& state) {
    std::lock_guard g(_mutex);
    if (state.delete_pending) {
        return true;
    }
    return std::any_of(state.opens.begin(), state.opens.end(),
                       [](const auto& o) { return o.delete_on_close; });
}

void share_mode_table::set_delete_pending(file_state& state, bool on) {
    std::lock_guard g(_mutex);
    state.delete_pending = on;
    if (!on) {
        for (auto& o : state.opens) {
            o.delete_on_close = false;
        }
    }
}

void share_mode_table::renamed(file_state& state, const std::string& relative) {
    std::lock_guard g(_mutex);
    state.relative = relative;
}

std::string share_mode_table::relative(const file_state& state) {
    std::lock_guard g(_mutex);
    return state.relative;
}

size_t share_mode_table::open_count(file_key key) {
    std::lock_guard g(_mutex);
    auto it = _files.find(key);
    return it == _files.end() ? 0 : it->second->opens.size();
}

bool share_mode_table::has_other_opens(const file_state& state, const void* owner) {
    std::lock_guard g(_mutex);
    return std::any_of(state.opens.begin(), state.opens.end(),
                       [owner](const auto& o) { return o.owner != owner; });
}

bool share_mode_table::has_opens_under(const std::string& share_root, const std::string& relative) {
    std::string prefix = relative + "/";
    std::lock_guard g(_mutex);
    for (const auto& [key, f] : _files) {
        if (f->share_root == share_root && f->relative.compare(0, prefix.size(), prefix) == 0) {
            return true;
        }
    }
    return false;
}

} // namespace smbx::vfs
