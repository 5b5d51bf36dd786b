// The arbiter's state across a SIGHUP re-exec of smbx-control (lease_arbiter::snapshot):
// the old image writes it to a memfd the new one inherits, its number in
// SMBX_LEASE_STATE_FD. The data plane keeps running through the re-exec, and so do
// its clients' oplocks and leases: the new image must know them before it answers the
// next CREATE.
#pragma once

#include <optional>

#include "common/byte_codec.hh"

namespace smbx::leases {

// Before execv: the inheritable memfd holding `snapshot`, named in the environment;
// -1 (and nothing set) if it cannot be made.
int hand_over_lease_state(const bytes& snapshot);
// After a failed execv: closes `fd` and clears the environment again.
void cancel_lease_handover(int fd);
// In the new image: the state the old one handed over, once (the descriptor is closed
// and the variable cleared); nullopt if there was none or it cannot be read.
std::optional<bytes> take_lease_state();

} // namespace smbx::leases
