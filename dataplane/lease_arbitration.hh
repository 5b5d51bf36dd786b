// What the SMB2 engine asks of oplock and lease arbitration, which lives in smbx-control
// (control/leases, DESIGN.md): control_client carries these calls over the control
// ring; engine tests put the arbiter itself behind them. A CREATE's question and an
// OPLOCK_BREAK acknowledgement wait for their answer (nullopt: no answer); a CLOSE and
// a WRITE only tell. Breaks and releases come back as notices (lease_router).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/lease_ipc.hh"

namespace smbx {

class lease_arbitration {
public:
    virtual ~lease_arbitration() = default;
    virtual std::optional<ipc::lease_open_reply> lease_open(const ipc::lease_open_request& req) = 0;
    virtual std::optional<ipc::lease_ack_reply> lease_ack(const ipc::lease_ack_request& req) = 0;
    virtual std::optional<ipc::lease_handles_reply>
    lease_handles(const ipc::lease_handles_request& req) = 0;
    virtual void lease_close(uint64_t open) = 0;
    virtual void lease_write(uint64_t open, const std::string& file) = 0;
};

} // namespace smbx
