// The control-ring messages of oplock and lease arbitration (control/leases): a CREATE
// asks, an OPLOCK_BREAK acknowledgement reports, a CLOSE or WRITE tells; the arbiter
// answers and sends the breaks to deliver and the files whose waiting opens may go on.
// Plain-field messages (ipc_fields.hh): `fields` lists each one's wire order.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/ipc_fields.hh"

namespace smbx::ipc {

using guid_bytes = std::array<uint8_t, 16>;

struct lease_open_request {
    static constexpr msg_type type = msg_type::lease_open_request;
    uint64_t open = 0; // the data plane's id of the open
    std::string file;  // device, inode, stream
    bool directory = false;
    bool has_lease = false; // else an oplock request (`oplock`)
    guid_bytes client{};    // ClientGuid
    guid_bytes lease_key{};
    uint8_t lease_version = 1;
    uint16_t epoch = 0;
    uint8_t requested = 0; // lease state (MS-SMB2 2.2.13.2.8)
    uint8_t oplock = 0;    // RequestedOplockLevel (2.2.13)
    bool overwrite = false;
    bool level2_oplocks = true;
    bool after_break = false; // asked again once breaks it caused ended
    bool no_wait = false;     // inside a compound: break, then grant without waiting
    template <typename S, typename F> static void fields(S& s, F f) {
        f(s.open), f(s.file), f(s.directory), f(s.has_lease), f(s.client), f(s.lease_key),
            f(s.lease_version), f(s.epoch), f(s.requested), f(s.oplock), f(s.overwrite),
            f(s.level2_oplocks), f(s.after_break), f(s.no_wait);
    }
};

struct lease_open_reply {
    static constexpr msg_type type = msg_type::lease_open_reply;
    uint32_t status = 0;
    bool wait = false; // ask again after a lease_released of the file
    uint8_t granted = 0;
    uint8_t oplock = 0; // the OplockLevel to answer (0xFF: a lease)
    uint16_t epoch = 0;
    bool break_in_progress = false;
    template <typename S, typename F> static void fields(S& s, F f) {
        f(s.status), f(s.wait), f(s.granted), f(s.oplock), f(s.epoch), f(s.break_in_progress);
    }
};

struct lease_break {
    static constexpr msg_type type = msg_type::lease_break;
    bool lease = false;
    guid_bytes client{};
    guid_bytes lease_key{};
    uint64_t via = 0; // the open whose connection carries it
    uint8_t from = 0;
    uint8_t to = 0;
    bool ack_required = false;
    uint16_t epoch = 0;
    template <typename S, typename F> static void fields(S& s, F f) {
        f(s.lease), f(s.client), f(s.lease_key), f(s.via), f(s.from), f(s.to), f(s.ack_required),
            f(s.epoch);
    }
};

struct lease_ack_request {
    static constexpr msg_type type = msg_type::lease_ack_request;
    bool lease = false;
    guid_bytes client{};
    guid_bytes lease_key{};
    uint64_t open = 0; // an oplock's open
    uint8_t state = 0; // the lease state, or the oplock level, acknowledged
    template <typename S, typename F> static void fields(S& s, F f) {
        f(s.lease), f(s.client), f(s.lease_key), f(s.open), f(s.state);
    }
};

struct lease_ack_reply {
    static constexpr msg_type type = msg_type::lease_ack_reply;
    uint32_t status = 0;
    uint8_t state = 0;
    template <typename S, typename F> static void fields(S& s, F f) { f(s.status), f(s.state); }
};

struct lease_close {
    static constexpr msg_type type = msg_type::lease_close;
    uint64_t open = 0;
    template <typename S, typename F> static void fields(S& s, F f) { f(s.open); }
};

struct lease_released {
    static constexpr msg_type type = msg_type::lease_released;
    std::string file;
    template <typename S, typename F> static void fields(S& s, F f) { f(s.file); }
};

struct lease_write {
    static constexpr msg_type type = msg_type::lease_write;
    uint64_t open = 0;
    std::string file;
    template <typename S, typename F> static void fields(S& s, F f) { f(s.open), f(s.file); }
};

// A CREATE that met a sharing violation: other owners of the file give up handle
// caching (MS-SMB2 3.3.5.9, MS-FSA 2.1.5.1.2.1), except the opener's own lease.
struct lease_handles_request {
    static constexpr msg_type type = msg_type::lease_handles_request;
    std::string file;
    bool has_lease = false;
    guid_bytes client{};
    guid_bytes lease_key{};
    template <typename S, typename F> static void fields(S& s, F f) {
        f(s.file), f(s.has_lease), f(s.client), f(s.lease_key);
    }
};

struct lease_handles_reply {
    static constexpr msg_type type = msg_type::lease_handles_reply;
    bool wait = false; // a break must be acknowledged: ask again after a lease_released
    template <typename S, typename F> static void fields(S& s, F f) { f(s.wait); }
};

} // namespace smbx::ipc
