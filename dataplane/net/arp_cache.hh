// A small IPv4 -> MAC cache (RFC 826). Entries expire so a moved address is relearned;
// the cache is bounded and evicts the entry that expires first. Addresses being
// resolved are remembered so a request goes out at most once per retry interval.
#pragma once

#include <optional>
#include <unordered_map>
#include <vector>

#include "dataplane/net/net_types.hh"

namespace smbx::net {

class arp_cache {
public:
    arp_cache(size_t capacity, time_us lifetime) : _capacity(capacity), _lifetime(lifetime) {}

    std::optional<mac_address> lookup(ipv4_address ip, time_us now) const;
    // RFC 826 "merge": refresh an entry if present. Returns true if it was.
    bool update(ipv4_address ip, const mac_address& mac, time_us now);
    void insert(ipv4_address ip, const mac_address& mac, time_us now);
    // True if a request for `ip` should be sent now (none sent within `retry`).
    bool should_request(ipv4_address ip, time_us now, time_us retry);
    size_t size() const { return _entries.size(); }

private:
    struct entry {
        mac_address mac;
        time_us expires = 0;
    };
    struct pending {
        ipv4_address ip;
        time_us requested = 0;
    };
    size_t _capacity;
    time_us _lifetime;
    std::unordered_map<uint32_t, entry> _entries; // by address
    std::vector<pending> _pending;
};

} // namespace smbx::net
