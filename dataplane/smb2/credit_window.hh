// The server's view of the client's credits (MS-SMB2 3.3.1.1, 3.3.1.2): the set of
// MessageIds the client may use next. Ids may be used out of order but only once;
// every response grants new ids at the top of the window.
#pragma once

#include <cstdint>
#include <deque>

namespace smbx::smb2 {

class credit_window {
public:
    static constexpr uint32_t max_outstanding = 8192; // never grant beyond this

    // Consumes `charge` consecutive ids starting at `first` (charge 0 counts as 1).
    // False if any of them is outside the window or already used.
    bool consume(uint64_t first, uint16_t charge);
    // Grants up to `requested` credits (at least 1 if nothing is outstanding, so the
    // client never deadlocks) and returns how many were granted.
    uint16_t grant(uint16_t requested);
    uint64_t available() const { return _granted_high - _low - _used_above_low; }

private:
    uint64_t _low = 0;          // lowest id not yet used
    uint64_t _granted_high = 1; // one past the highest id granted (id 0 is the first)
    std::deque<bool> _used;     // _used[i]: id _low + i was used (out of order)
    uint64_t _used_above_low = 0;
};

} // namespace smbx::smb2
