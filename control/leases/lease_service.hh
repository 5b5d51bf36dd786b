// smbx-control's side of the oplock and lease messages (common/lease_ipc.hh): it owns
// the arbiter, decodes what the data plane sends, and returns the messages to send back
// (a reply under the request's id, breaks and releases under id 0). No ring, no clock
// of its own: control_service passes messages and the time in and sends what comes out.
//
// State: the arbiter lives in smbx-control's memory. The data plane's hello (a new
// data plane: every open of the old one is gone with its connections) resets it.
#pragma once

#include <optional>
#include <vector>

#include "common/lease_ipc.hh"
#include "control/leases/lease_arbiter.hh"

namespace smbx::leases {

class lease_service {
public:
    explicit lease_service(clock::duration break_timeout = std::chrono::seconds(35))
        : _break_timeout(break_timeout), _arbiter(break_timeout) {}

    // Whether `t` is one of the messages handle() takes.
    static bool handles(ipc::msg_type t);
    // One message from the data plane: what to send back, in order. A message that
    // does not decode gets nothing (the caller logs it).
    std::vector<bytes> handle(byte_span message, clock::time_point now);
    // Breaks whose acknowledgement is overdue: the releases to send.
    std::vector<bytes> expire(clock::time_point now);
    std::optional<clock::time_point> next_deadline() const { return _arbiter.next_deadline(); }
    // Across a SIGHUP re-exec of smbx-control (lease_handover.hh): the arbiter as bytes,
    // and back; restore() keeps the current state if the bytes are not a snapshot.
    bytes snapshot(clock::time_point now) const { return _arbiter.snapshot(now); }
    bool restore(byte_span data, clock::time_point now) {
        auto a = lease_arbiter::restore(data, _break_timeout, now);
        if (a) {
            _arbiter = std::move(*a);
        }
        return a.has_value();
    }
    // A new data plane: no open of the old one is left.
    void reset() { _arbiter = lease_arbiter(_break_timeout); }

    const lease_arbiter& arbiter() const { return _arbiter; }

private:
    clock::duration _break_timeout;
    lease_arbiter _arbiter;
};

} // namespace smbx::leases
