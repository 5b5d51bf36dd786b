#include "dataplane/net/arp_cache.hh"

#include <algorithm>

namespace smbx::net {

std::optional<mac_address> arp_cache::lookup(ipv4_address ip, time_us now) const {
    auto it = _entries.find(ip.value);
    if (it == _entries.end() || it->second.expires <= now) {
        return std::nullopt;
    }
    return it->second.mac;
}

bool arp_cache::update(ipv4_address ip, const mac_address& mac, time_us now) {
    auto it = _entries.find(ip.value);
    if (it == _entries.end()) {
        return false;
    }
    it->second = entry{mac, now + _lifetime};
    return true;
}

void arp_cache::insert(ipv4_address ip, const mac_address& mac, time_us now) {
    std::erase_if(_pending, [&](const pending& p) { return p.ip == ip; });
    if (update(ip, mac, now)) {
        return;
    }
    if (_entries.size() >= _capacity) {
        auto oldest = std::min_element(_entries.begin(), _entries.end(), [](auto& a, auto& b) {
            return a.second.expires < b.second.expires;
        });
        _entries.erase(oldest);
    }
    _entries.emplace(ip.value, entry{mac, now + _lifetime});
}
bool arp_cache::should_request(ipv4_address ip, time_us now, time_us retry) {
    for (auto& p : _pending) {
        if (p.ip == ip) {
            if (now - p.requested < retry) {
                return false;
            }
            p.requested = now;
            return true;
        }
    }
    if (_pending.size() >= _capacity) {
        _pending.erase(_pending.begin());
    }
    _pending.push_back(pending{ip, now});
    return true;
}

} // namespace smbx::net
