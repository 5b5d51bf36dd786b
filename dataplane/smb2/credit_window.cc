#include "dataplane/smb2/credit_window.hh"

#include <algorithm>

namespace smbx::smb2 {

bool credit_window::consume(uint64_t first, uint16_t charge) {
    uint64_t n = charge ? charge : 1;
    if (first < _low || first >= _granted_high || n > _granted_high - first) {
        return false;
    }
    if (first == _low && _used.empty()) {
        _low += n; // in order, nothing used above: the common case, no bookkeeping
        return true;
    }
    for (uint64_t id = first; id < first + n; ++id) {
        size_t i = id - _low;
        if (i < _used.size() && _used[i]) {
            return false;
        }
    }
    for (uint64_t id = first; id < first + n; ++id) {
        size_t i = id - _low;
        if (i >= _used.size()) {
            _used.resize(i + 1, false);
        }
        _used[i] = true;
        ++_used_above_low;
    }
    while (!_used.empty() && _used.front()) {
        _used.pop_front();
        ++_low;
        --_used_above_low;
    }
    return true;
}

uint16_t credit_window::grant(uint16_t requested) {
    uint64_t outstanding = available();
    uint64_t room = outstanding < max_outstanding ? max_outstanding - outstanding : 0;
    uint64_t g = std::min<uint64_t>(requested, room);
    if (g == 0 && outstanding == 0) {
        g = 1;
    }
    _granted_high += g;
    return static_cast<uint16_t>(g);
}

} // namespace smbx::smb2
