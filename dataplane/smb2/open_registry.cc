#include "dataplane/smb2/open_registry.hh"

namespace smbx::smb2 {

uint64_t open_registry::add(entry e) {
    std::lock_guard lock(_mutex);
    uint64_t ref = _next++;
    _entries.emplace(ref, std::move(e));
    return ref;
}

void open_registry::remove(uint64_t ref) {
    std::lock_guard lock(_mutex);
    _entries.erase(ref);
}

std::optional<open_registry::entry> open_registry::find(uint64_t ref) const {
    std::lock_guard lock(_mutex);
    auto it = _entries.find(ref);
    if (it == _entries.end()) {
        return std::nullopt;
    }
    return it->second;
}

size_t open_registry::size() const {
    std::lock_guard lock(_mutex);
    return _entries.size();
}

} // namespace smbx::smb2
