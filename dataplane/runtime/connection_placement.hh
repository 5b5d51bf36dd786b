// Which worker a new connection lives on: one policy for every backend that accepts on
// one worker and deals connections out (kernel TCP, SMB Direct). The policy picks the
// member; the backend's hook moves the connection there (TCP posts the accepted fd to
// that worker, SMB Direct migrates the CM id to that worker's event channel), and the
// connection stays there for life. DPDK does not deal: the NIC's RSS and the flow
// steering (net/flow_steering.hh) put each flow on a queue, and so on a worker.
//
// Round robin: connections are long-lived and alike (SMB multichannel opens one per
// interface and spreads them itself), so counting them out evenly is all it takes.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace smbx {

template <typename Member> class connection_placement {
public:
    // The backend's instances, one per worker, the accepting one among them; set before
    // the workers start. Without members, the accepting instance keeps everything.
    void set_members(std::vector<Member*> members) {
        _members = std::move(members);
        _next = 0;
    }
    const std::vector<Member*>& members() const { return _members; }

    // Places one connection `self` accepted: picks the member, and when that is another
    // one calls the backend's hook, `hand_over(Member* to)`, which moves the connection
    // and returns false if it could not (the connection then stays with `self`).
    // Returns the member that has the connection. The accepting worker only.
    template <typename HandOver> Member* place(Member* self, HandOver&& hand_over) {
        if (_members.empty()) {
            return self;
        }
        Member* to = _members[_next++ % _members.size()];
        if (to == self || !hand_over(to)) {
            return self;
        }
        return to;
    }

private:
    std::vector<Member*> _members;
    size_t _next = 0;
};

} // namespace smbx
