// What the two SMB Direct fuzz targets (smbd_connection_fuzz, smbd_requester_fuzz)
// share: the check that aborts, the ledger of the peer's send credits, and the ops that
// age or end a connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdlib>

#include "tests/unit/rdma/fake_verbs_port.hh"

namespace smbx::rdma::fuzzing {

inline void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

// MS-SMBD send credits: every data message the connection posted spent a credit the
// peer granted and fitted the negotiated send size, and the last credit went only with
// a message that grants one (so the peer can always answer).
struct credit_ledger {
    uint64_t granted = 0;
    uint64_t data_sends = 0;

    void check_sends(const testing::fake_verbs_port& port, const smbd_connection& conn,
                     size_t from) {
        for (size_t i = from; i < port.sent.size(); ++i) {
            data_transfer_message m;
            check(parse_data_transfer(port.sent[i].data, m) == data_transfer_error::none);
            check(port.sent[i].data.size() <= conn.negotiated().max_send_size);
            check(granted > data_sends);
            if (granted - data_sends == 1) {
                check(m.header.credits_granted > 0);
            }
            ++data_sends;
        }
    }
};

// Op: time passes (arg[0] seconds, else one) and the connection's timers run.
inline void advance_time(smbd_connection& conn, smbd_clock::time_point& now, byte_span arg) {
    now += std::chrono::seconds(arg.empty() ? 1 : arg[0]);
    conn.poll(now);
}

// Op: the peer leaves (0xDD) or the upper layer closes (0xDC); other bytes do nothing.
inline void end_connection(smbd_connection& conn, byte_span arg) {
    if (!arg.empty() && arg[0] == 0xDD) {
        conn.on_peer_disconnected();
    } else if (!arg.empty() && arg[0] == 0xDC) {
        conn.close("fuzz");
    }
}

} // namespace smbx::rdma::fuzzing
