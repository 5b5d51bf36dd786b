// Messages between smbx-dataplane and smbx-control over the shared-memory rings.
// Every message is: u16 type, u16 reserved, u32 reserved, u64 id, then the body
// encoded with byte_writer (strings as u32 length + UTF-8). Ids pair a reply with its
// request; no pointers or addresses ever cross.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/byte_codec.hh"

namespace smbx::ipc {

enum class msg_type : uint16_t {
    hello = 1,        // dp -> ctl: data plane is up (body: pid)
    auth_request = 2, // dp -> ctl: a SESSION_SETUP security blob
    auth_reply = 3,   // ctl -> dp
    auth_abandon = 4, // dp -> ctl: connection gone, drop the auth context
    tree_connect_request = 5,
    tree_connect_reply = 6,
    share_enum_request = 7, // for srvsvc NetShareEnumAll
    share_enum_reply = 8,
    status_request = 9, // ctl -> dp: for `smbxctl status`
    status_reply = 10,  // dp -> ctl
    // Oplock and lease arbitration (lease_ipc.hh).
    lease_open_request = 11,    // dp -> ctl: a CREATE's oplock or lease request
    lease_open_reply = 12,      // ctl -> dp
    lease_break = 13,           // ctl -> dp: send this break to the open's client
    lease_ack_request = 14,     // dp -> ctl: an OPLOCK_BREAK acknowledgement
    lease_ack_reply = 15,       // ctl -> dp
    lease_close = 16,           // dp -> ctl: an open is closed (no reply)
    lease_released = 17,        // ctl -> dp: the opens waiting on a file may go on
    lease_write = 18,           // dp -> ctl: a WRITE to a file others cache (no reply)
    lease_handles_request = 19, // dp -> ctl: a CREATE met a sharing violation
    lease_handles_reply = 20,   // ctl -> dp
};

struct header {
    msg_type type{};
    uint64_t id = 0;
};

struct auth_request {
    uint64_t auth_id = 0; // 0 starts a new exchange; otherwise continues one
    std::string client_address;
    bytes blob; // SPNEGO (or raw NTLMSSP) token from the client
};

struct auth_reply {
    uint32_t status = 0; // NT status: SUCCESS, MORE_PROCESSING_REQUIRED, LOGON_FAILURE, ...
    uint64_t auth_id = 0;
    bytes blob;        // token for the client (may be empty)
    bytes session_key; // on SUCCESS: the exported session key (MS-NLMP 3.4.5), 16 bytes
    std::string user;
    std::string domain;
    bool guest = false;
    bool anonymous = false;
};

struct auth_abandon {
    uint64_t auth_id = 0;
};

enum class share_type : uint32_t { disk = 0, ipc = 3 }; // MS-SRVS 2.2.2.4 STYPE_*

struct share_info {
    std::string name;
    std::string path;
    std::string comment;
    share_type type = share_type::disk;
    bool read_only = false;
    bool browseable = true;
    bool encrypt_required = false; // `smb encrypt = required`
    bool direct_io = false;
    bool oplocks = true;        // `oplocks`: the share's CREATEs ask the arbiter
    bool level2_oplocks = true; // `level2 oplocks`
};

struct tree_connect_request {
    std::string user;
    bool guest = false;
    bool anonymous = false;
    std::string share; // name only, no \\server\ prefix
};

struct tree_connect_reply {
    uint32_t status = 0; // SUCCESS, BAD_NETWORK_NAME, ACCESS_DENIED
    share_info share;
};

struct share_enum_reply {
    std::vector<share_info> shares;
};

struct session_status {
    uint64_t session_id = 0;
    std::string user;
    std::string client_address;
    uint16_t dialect = 0;
    bool signing = false;
    bool encryption = false;
};

struct open_status {
    uint64_t session_id = 0;
    std::string share;
    std::string path;
    // What the open's client may cache, as the data plane last saw it: "" (nothing),
    // an oplock ("level2", "exclusive", "batch") or a lease ("lease R", "lease RWH"...).
    std::string caching;
};

// One data-path counter of one worker thread; `worker` other_threads for the sum of
// every other thread (request threads, control thread, threads that ended).
struct worker_counter {
    static constexpr uint32_t other_threads = 0xFFFFFFFF;
    std::string name;
    uint32_t worker = 0;
    uint64_t value = 0;
};

// One status reply may span several messages of the same id (one ring slot each):
// parts numbered from 0, every one but the last with `more` set. The receiver appends
// each part's lists in order (append_status_part).
struct status_reply {
    uint32_t part = 0;
    bool more = false;
    std::vector<session_status> sessions;
    std::vector<open_status> opens;
    // Data-path counters by name (buffer pool, zero-copy, io_uring), as the data plane
    // reports them.
    std::vector<std::pair<std::string, uint64_t>> counters;
    // The per-thread ones again, by worker (for the metrics' worker label).
    std::vector<worker_counter> worker_counters;
};

// Encoding: each returns the complete message (header included).
bytes encode(uint64_t id, const auth_request& m);
bytes encode(uint64_t id, const auth_reply& m);
bytes encode(uint64_t id, const auth_abandon& m);
bytes encode(uint64_t id, const tree_connect_request& m);
bytes encode(uint64_t id, const tree_connect_reply& m);
bytes encode_share_enum_request(uint64_t id);
bytes encode(uint64_t id, const share_enum_reply& m);
bytes encode_status_request(uint64_t id);
bytes encode(uint64_t id, const status_reply& m);
// The status reply as parts of at most `max_size` bytes each (one ring slot; at least
// min_status_part_size), every session, open and counter in one of them. A string too
// long for any part (never a real user, address or path) is cut at a UTF-8 boundary.
constexpr size_t min_status_part_size = 256;
std::vector<bytes> encode_status_parts(uint64_t id, const status_reply& m, size_t max_size);
// Appends `part` to `whole` if it is the next one; false if it is out of order.
bool append_status_part(status_reply& whole, status_reply&& part);
bytes encode_hello(uint64_t id, uint32_t pid);

// Decoding: peek the header, then decode the body of the expected type. A message
// that does not decode completely yields nullopt (and is logged and dropped).
std::optional<header> decode_header(byte_span message);
std::optional<auth_request> decode_auth_request(byte_span message);
std::optional<auth_reply> decode_auth_reply(byte_span message);
std::optional<auth_abandon> decode_auth_abandon(byte_span message);
std::optional<tree_connect_request> decode_tree_connect_request(byte_span message);
std::optional<tree_connect_reply> decode_tree_connect_reply(byte_span message);
std::optional<share_enum_reply> decode_share_enum_reply(byte_span message);
std::optional<status_reply> decode_status_reply(byte_span message);
std::optional<uint32_t> decode_hello(byte_span message);

} // namespace smbx::ipc
