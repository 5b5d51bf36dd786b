// One truth about who may cache what of each file, for every open of every client on
// every worker and channel: the oplock and lease arbitration of smbx-control (DESIGN.md).
// The data plane asks it on CREATE, WRITE and CLOSE, and passes on the break
// acknowledgements; it answers with what to grant and which breaks to send. It owns no
// socket and no clock: the caller gives it the time, so break timeouts are tested with a
// fake clock.
//
// The model (MS-SMB2 3.3.1.4 Lease, 3.3.4.6-7 breaks, 3.3.5.9.8/.11 lease requests,
// 3.3.5.22 acknowledgements; MS-FSA 2.1.4.12 breaks, 2.1.5.17-18 requests), reduced
// to what a server that owns its whole object store needs:
// - An owner holds a caching state (caching.hh) over its opens of one file: a lease
//   (ClientGuid + LeaseKey, any number of opens, on any channel), or one open's oplock
//   (batch = RWH, exclusive = RW, level II = R). An open with neither is an owner
//   holding nothing, which still keeps others from write caching.
// - Write caching needs the file to itself: another owner's open breaks it (RWH -> RH,
//   RW -> R, batch and exclusive -> level II). An open that overwrites the data
//   (FILE_SUPERSEDE, FILE_OVERWRITE[_IF]) breaks read and write caching; a WRITE or a
//   size change breaks others' read caching; a sharing violation or a rename or delete
//   breaks handle caching (break_handle_caching).
// - A break away from write or handle caching waits for the client's acknowledgement
//   (or the break timeout, then it is taken as acknowledged to the state broken to);
//   an open that caused it waits too and is tried again once no break it must wait for
//   is left (the files returned by acknowledge/close/expire). A break from read caching
//   alone is not acknowledged and nothing waits for it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/byte_codec.hh"
#include "control/leases/caching.hh"

namespace smbx::leases {

using guid = std::array<uint8_t, 16>;
using clock = std::chrono::steady_clock;
// The data plane's id of an open, unique in the server (its worker, connection and
// FileId folded in); opaque here.
using open_ref = uint64_t;
// The file (a stream of it) as the data plane names it: device, inode and stream.
using file_key = std::string;

struct owner_key {
    guid client{};     // ClientGuid of a lease; zero for an oplock
    guid lease_key{};  // LeaseKey; zero for an oplock
    open_ref open = 0; // the oplock's (or no-caching) open; 0 for a lease
    auto operator<=>(const owner_key&) const = default;

    static owner_key of_lease(const guid& client, const guid& key) { return {client, key, 0}; }
    static owner_key of_open(open_ref o) { return {{}, {}, o}; }
    bool is_lease() const { return open == 0; }
};

// A break the data plane sends (a lease break notification, 2.2.23.2, to one of the
// lease's opens' connections; an oplock break notification, 2.2.23.1, on the open).
struct break_notice {
    owner_key owner;
    open_ref via = 0; // an open of the owner: where to send it
    uint8_t from = 0; // caching states
    uint8_t to = 0;
    bool ack_required = false;
    uint16_t epoch = 0; // NewEpoch of a v2 lease
};

struct open_request {
    open_ref open = 0;
    file_key file;
    bool directory = false; // leases R and RH only (SMB2_GLOBAL_CAP_DIRECTORY_LEASING)
    // Either a lease (lease set, `requested` its LeaseState) or an oplock (`oplock`).
    std::optional<owner_key> lease;
    uint8_t lease_version = 1; // 2: SMB2_CREATE_REQUEST_LEASE_V2 (epoch kept)
    uint16_t epoch = 0;        // a v2 request's Epoch (2.2.13.2.10)
    uint8_t requested = caching::none;
    oplock_level oplock = oplock_level::none;
    bool overwrite = false;     // FILE_SUPERSEDE / FILE_OVERWRITE / FILE_OVERWRITE_IF
    bool level2_oplocks = true; // the share's `level2 oplocks`
    bool after_break = false;   // asked again after breaks it caused were acknowledged
    // Granted at once even while breaks are under way (a CREATE inside a compound,
    // which cannot wait): it gets what is left beside the owners as they break.
    bool no_wait = false;
};

struct open_decision {
    // STATUS_INVALID_PARAMETER: the lease key is another file's, or the open is known
    // already (a data plane asks once per open).
    uint32_t status = 0;
    // The open must wait: breaks it caused (or ones already under way) are waited for.
    // Nothing was granted or recorded; ask again once the file is released.
    bool wait = false;
    uint8_t granted = caching::none;          // the lease state, or the oplock's caching
    oplock_level oplock = oplock_level::none; // for an oplock request
    uint16_t epoch = 0;                       // a v2 lease's epoch
    bool break_in_progress = false;           // SMB2_LEASE_FLAG_BREAK_IN_PROGRESS
    std::vector<break_notice> breaks;
};

struct ack_result {
    uint32_t status = 0;
    uint8_t state = caching::none;    // the state held after it
    std::vector<file_key> released;   // files with opens waiting that may go on now
    std::vector<break_notice> breaks; // a further break the acknowledged state needs
};

class lease_arbiter {
public:
    explicit lease_arbiter(clock::duration break_timeout = std::chrono::seconds(35))
        : _break_timeout(break_timeout) {}

    // CREATE: what to grant `r.open`, or which breaks it must wait for.
    open_decision open(const open_request& r, clock::time_point now);
    // A WRITE or size change through `writer`: others' read caching breaks (2.1.4.12).
    std::vector<break_notice> write(open_ref writer, const file_key& file, clock::time_point now);
    // A sharing violation against, or a rename or delete of, a file whose other owners
    // may keep handles cached: their handle caching breaks. True when the caller must
    // wait before trying again (an acknowledgement is due).
    bool break_handle_caching(open_ref by, const file_key& file, clock::time_point now,
                              std::vector<break_notice>& breaks);
    // The same for an opener that holds no open yet (a CREATE that failed its share
    // mode check): `self`, its lease if it asked for one, keeps its caching.
    bool break_handle_caching(const owner_key& self, const file_key& file, clock::time_point now,
                              std::vector<break_notice>& breaks);

    // A lease break acknowledgement (3.3.5.22.2) and an oplock break acknowledgement
    // (3.3.5.22.1).
    ack_result acknowledge_lease(const owner_key& lease, uint8_t state, clock::time_point now);
    ack_result acknowledge_oplock(open_ref open, oplock_level level, clock::time_point now);

    // CLOSE: the open's owner loses it; a lease with no open left is gone (3.3.4.17).
    std::vector<file_key> close(open_ref open);
    // Breaks whose acknowledgement is overdue end as if the client had acknowledged
    // none (3.3.6.5, 3.3.6.6 break acknowledgement timers): it loses all caching.
    std::vector<file_key> expire(clock::time_point now);
    // When the next break falls due, for the caller's timer.
    std::optional<clock::time_point> next_deadline() const;

    // The whole state as bytes and back: how a SIGHUP re-exec of smbx-control keeps the
    // caching its data plane's clients still hold (control/main.cc hands the bytes to
    // the new image). Break deadlines travel as the time left. restore() refuses bytes
    // that are not a snapshot whole (nullopt) and leaves nothing half-read.
    bytes snapshot(clock::time_point now) const;
    static std::optional<lease_arbiter> restore(byte_span data, clock::duration break_timeout,
                                                clock::time_point now);

    // What an owner holds now (none if unknown), and whether it is breaking.
    uint8_t state_of(const owner_key& o) const;
    bool breaking(const owner_key& o) const;
    size_t owners() const { return _owners.size(); }

private:
    struct owner_state {
        file_key file;
        bool lease = false;
        uint8_t version = 1;
        uint8_t state = caching::none;
        uint8_t break_to = caching::none;
        bool breaking = false; // a break waits for its acknowledgement
        // A further lowering needed while a break waited for its acknowledgement: sent
        // once that arrives (3.3.4.7 sends one break at a time).
        std::optional<uint8_t> then_to;
        uint16_t epoch = 0;
        clock::time_point deadline{};
        std::set<open_ref> opens;
    };

    // Lowers `o` (on `file`) to `to`: a break notice when it changes what it holds.
    void lower(const owner_key& key, owner_state& o, uint8_t to, clock::time_point now,
               std::vector<break_notice>& out);
    // Lowers every other owner of `file` to what `keep` leaves of what it holds (or will
    // hold once its break ends); false when `self` is alone on the file.
    bool lower_others(const owner_key& self, const file_key& file, clock::time_point now,
                      std::vector<break_notice>& out,
                      const std::function<uint8_t(const owner_state&, uint8_t)>& keep);
    owner_key owner_of(open_ref open) const;
    // What leases and oplocks on one file leave each other, as Windows grants them
    // (smbtorture smb2.lease.oplock): no oplock beside a lease that caches handles, no
    // handle caching for a lease beside an oplock. `file` has other owners.
    uint8_t mixed_caching(const owner_key& self, const file_key& file, bool lease) const;
    // Whether a break on `file` not from `except` still waits for its acknowledgement.
    bool waiting_on(const file_key& file, const owner_key& except) const;
    // The break of `key` ends with `state` held; a further lowering goes out now.
    void settle(const owner_key& key, owner_state& o, uint8_t state, clock::time_point now,
                std::vector<break_notice>& out);
    void drop_owner(const owner_key& key);
    // The file, if it has no acknowledgement outstanding anymore.
    void released_if_clear(const file_key& file, std::vector<file_key>& out) const;

    clock::duration _break_timeout;
    std::map<owner_key, owner_state> _owners;
    std::map<file_key, std::set<owner_key>> _files;
    std::map<open_ref, owner_key> _opens;
};

} // namespace smbx::leases
