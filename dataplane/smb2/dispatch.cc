#include "dataplane/smb2/dispatch.hh"

#include <cstring>
#include <optional>

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/negotiate.hh"
#include "dataplane/smb2/request_checks.hh"

namespace smbx::smb2 {

namespace {

// A response body's first allocation: READ, WRITE, CLOSE, CREATE without contexts and
// most others fit (MS-SMB2 2.2.14-2.2.22).
constexpr size_t small_body = 128;

// Where a command runs: on the network worker that received it (it never waits), on
// the worker when the command's predicate says this request will not wait there (the
// READ or WRITE parsed once, read_write.hh), or on the request threads.
struct placement {
    enum kind_t : uint8_t { request_thread, on_worker, on_worker_if } kind = request_thread;
    bool (*may_run_on_worker)(connection&, uint64_t session_id,
                              const read_write_request&) = nullptr;
};
constexpr placement request_thread{placement::request_thread};
constexpr placement on_worker{placement::on_worker};
constexpr placement on_worker_if(bool (*pred)(connection&, uint64_t, const read_write_request&)) {
    return {placement::on_worker_if, pred};
}

struct command_entry {
    void (*handler)(request&, response&);
    uint8_t needs;           // what the checks must find (request_checks.hh)
    uint16_t structure_size; // request StructureSize (2.2.x): the one check of it
    placement where;
};

// The one table of every SMB2 command.
const command_entry command_table[command_count] = {
    {handle_negotiate, none, 36, request_thread},                           // 0x00
    {handle_session_setup, none, 25, request_thread},                       // 0x01
    {handle_logoff, session_needed, 4, request_thread},                     // 0x02
    {handle_tree_connect, session_needed, 9, request_thread},               // 0x03
    {handle_tree_disconnect, tree_needed, 4, request_thread},               // 0x04
    {handle_create, tree_needed, 57, request_thread},                       // 0x05
    {handle_close, tree_needed, 24, request_thread},                        // 0x06
    {handle_flush, tree_needed, 24, on_worker},                             // 0x07
    {handle_read, tree_needed, 49, on_worker_if(read_may_run_on_worker)},   // 0x08
    {handle_write, tree_needed, 49, on_worker_if(write_may_run_on_worker)}, // 0x09
    {handle_lock, tree_needed, 48, request_thread},                         // 0x0A
    {handle_ioctl, tree_needed, 57, request_thread},                        // 0x0B
    {nullptr, none, 4, request_thread},                                     // 0x0C CANCEL
    {handle_echo, none, 4, on_worker},                                      // 0x0D
    {handle_query_directory, tree_needed, 33, request_thread},              // 0x0E
    {handle_change_notify, tree_needed, 32, request_thread},                // 0x0F
    {handle_query_info, tree_needed, 41, request_thread},                   // 0x10
    {handle_set_info, tree_needed, 33, request_thread},                     // 0x11
    {handle_oplock_break, tree_needed, 0, request_thread}, // 0x12: 24 or 36, its handler checks
};

void write_error_body(byte_writer& w, byte_span data = {}) {
    // SMB2 ERROR Response (2.2.2): StructureSize 9, no error contexts, the handler's
    // ErrorData or one byte.
    w.u16(9);
    w.u8(0);
    w.u8(0);
    w.u32(uint32_t(data.size()));
    if (data.empty()) {
        w.u8(0);
    } else {
        w.put(data);
    }
}

// Bytes of payload a multi-credit request moves (3.3.5.2.5): READ and WRITE from their
// parse, IOCTL and QUERY_DIRECTORY from their bodies.
uint32_t payload_size(const header& h, byte_span message,
                      const std::optional<read_write_request>& rw) {
    byte_reader body(message);
    body.seek(header_size);
    switch (h.cmd) {
    case command::read:
    case command::write:
        return rw ? rw->length : 0;
    case command::ioctl: {
        body.skip(28); // up to InputCount (2.2.31)
        uint32_t in_count = body.u32();
        body.skip(12); // MaxInputResponse, OutputOffset, OutputCount
        uint32_t out_max = body.u32();
        return body.ok() ? std::max(in_count, out_max) : 0;
    }
    case command::query_directory:
        body.skip(28); // up to OutputBufferLength (2.2.33)
        return body.u32();
    default:
        return 0;
    }
}

// State carried along a compound chain (3.3.5.2.7).
struct chain_state {
    uint64_t session_id = 0;
    uint32_t tree_id = 0;
    bool session_valid = false; // the previous request named an existing session
    file_id last_file_id{~0ULL, ~0ULL};
    uint32_t create_error = 0;
};

// What every request of one received message shares.
struct message_context {
    bool encrypted = false; // it came in a TRANSFORM_HEADER
    uint64_t transform_session = 0;
    bool on_worker = false; // a polling worker runs it (message_plan)
    const std::optional<read_write_request>* planned = nullptr; // a single READ/WRITE's parse
};

struct one_result {
    bytes message;       // response header + body
    pool_buffer payload; // READ data that follows the body
    bool send = true;    // false for CANCEL
    bool disconnect = false;
    bytes signing_key;                            // set when this response is signed
    std::optional<signing_algorithm> signing_alg; // the connection's unless set
    bool sign = false;
    bool interim = false;   // an interim response: the request went async
    bool suspended = false; // not answered yet: it waits in a suspended_request
};

// One request on its way through the stages. A request a worker suspends keeps this
// (on the heap, where request::read_write may point into it) until finish_suspended().
struct request_state {
    request_state(connection& conn, byte_span message, const header& received)
        : h(received), req{conn, received, message} {}
    request_state(request_state&& o) noexcept
        : h(o.h), req(std::move(o.req)), rh(o.rh), resp(std::move(o.resp)), entry(o.entry),
          read_write(o.read_write), binding_target(std::move(o.binding_target)), sess(o.sess),
          binding_verified(o.binding_verified), related_without_session(o.related_without_session) {
        req.read_write = o.req.read_write ? &*read_write : nullptr;
    }

    header h;    // as received
    request req; // its header takes a related request's ids from the chain
    header rh;   // the response's
    response resp;
    const command_entry* entry = nullptr;
    std::optional<read_write_request> read_write; // READ and WRITE: the one parse
    std::shared_ptr<session> binding_target;
    session* sess = nullptr; // signs the response (found even when the check failed)
    bool binding_verified = false;
    bool related_without_session = false;
};

} // namespace

struct suspended_request {
    pool_buffer message; // request_state's spans point into it
    std::unique_ptr<request_state> state;
    chain_state chain;
    message_context context;
    size_t count = 1;
};

namespace {

// Moves READ data into the message itself, where it cannot stay in its own buffer.
void flatten(bytes& message, pool_buffer& payload) {
    if (payload.empty()) {
        return;
    }
    message.insert(message.end(), payload.data(), payload.data() + payload.size());
    counters::add(counters::data().payload_copied_bytes, payload.size());
    payload.reset();
}

// A signed (or unsigned) response or chain, encrypted when `encrypting` is set: the
// responses to encrypted requests are encrypted with the same session's key. READ data
// is encrypted where it lies (3.1.4.3: the plaintext is header, body and data as one).
// nullopt: encryption failed (crypto.cc logged why); the response cannot be sent.
std::optional<out_message> seal(connection& conn, bytes message, pool_buffer payload,
                                session* encrypting) {
    if (!encrypting) {
        return out_message{std::move(message), std::move(payload)};
    }
    if (conn.cipher_id == cipher::aes128_ccm || conn.cipher_id == cipher::aes256_ccm) {
        flatten(message, payload);
    }
    bytes head(transform_header_size + message.size());
    std::memcpy(head.data() + transform_header_size, message.data(), message.size());
    auto th = crypto::encrypt_in_place(conn.cipher_id, encrypting->encryption_key, encrypting->id,
                                       std::span<uint8_t>(head).subspan(transform_header_size),
                                       payload.span());
    if (!th) {
        LOG_ERROR("%s: cannot encrypt a response", conn.client_address.c_str());
        return std::nullopt;
    }
    std::memcpy(head.data(), th->data(), th->size());
    return out_message{std::move(head), std::move(payload)};
}

// CANCEL (3.3.5.16): ends the pending request it names, by AsyncId (async form) or by
// MessageId (sync form), with STATUS_CANCELLED. CANCEL itself is never answered.
void cancel(connection& conn, const header& h) {
    pending_request* p = h.is_async() ? conn.async_ops.find(h.async_id)
                                      : conn.async_ops.find_by_message_id(h.message_id);
    if (p) {
        complete_async(conn, p->async_id, status::cancelled, {});
    }
}

// Stage 1, the compound walk's part of one request (3.3.5.2.7): a related request takes
// the chain's ids (3.3.5.2.7.2), and the response header starts from the request's.
void take_chain_ids(request_state& st, chain_state& chain, const message_context& ctx,
                    bool last_in_chain) {
    const header& h = st.h;
    request& req = st.req;
    req.chain_file_id = &chain.last_file_id;
    req.last_in_chain = last_in_chain;
    req.encrypted = ctx.encrypted;
    req.on_worker = ctx.on_worker;
    if (!h.is_related()) {
        chain.last_file_id = file_id{~0ULL, ~0ULL}; // an unrelated request has no "previous" open
    }
    header& rh = st.rh;
    rh.cmd = h.cmd;
    rh.credit_charge = h.credit_charge;
    rh.message_id = h.message_id;
    rh.flags = flag_server_to_redir | (h.flags & flag_related_operations);
    rh.process_id = h.process_id;
    rh.tree_id = h.tree_id;
    rh.session_id = h.session_id;
    if (h.is_related()) {
        // With no previous request, or one whose session did not exist, there is
        // nothing to take: INVALID_PARAMETER, as Windows and Samba answer (smbtorture
        // smb2.compound.invalid1, invalid2, related9).
        req.hdr.session_id = rh.session_id = chain.session_id;
        req.hdr.tree_id = rh.tree_id = chain.tree_id;
        st.related_without_session = !chain.session_valid;
    }
    chain.session_valid = !st.related_without_session && req.conn.find_session(req.hdr.session_id);
}

// Stage 2, the request checks of 3.3.5.2.x in the spec's order (request_checks.hh):
// the first that fails answers the request. False: drop the connection.
bool run_checks(request_state& st, const chain_state& chain, const message_context& ctx) {
    request& req = st.req;
    connection& conn = req.conn;
    response& resp = st.resp;
    auto fail_if = [&](uint32_t st) {
        if (st != status::success) {
            resp.fail(st);
        }
    };
    auto sc = check_session(conn, req, st.entry->needs, st.related_without_session);
    st.sess = req.sess = sc.sess;
    fail_if(sc.status);
    st.binding_target = binding_target_of(conn, req, st.sess);
    if (!check_transform_session(req, st.sess, ctx.transform_session)) {
        return false;
    }
    if (!resp.error_body) {
        auto sig = check_signature(conn, req, st.sess, st.binding_target.get());
        st.binding_verified = sig.binding_verified;
        fail_if(sig.status);
    }
    if (!resp.error_body) {
        fail_if(check_tree(conn, req, st.entry->needs));
    }
    if (!resp.error_body) {
        fail_if(check_encryption(conn, req));
    }
    if (st.h.cmd == command::read || st.h.cmd == command::write) {
        st.read_write = ctx.planned ? *ctx.planned : parse_read_write(st.h.cmd, req.message);
    }
    if (!resp.error_body) {
        fail_if(check_credit_charge(conn, st.h, payload_size(st.h, req.message, st.read_write)));
    }
    // Related requests after a failed CREATE fail the same way (3.3.5.2.7.2).
    if (!resp.error_body && st.h.is_related() && chain.create_error != 0 &&
        st.h.cmd != command::create) {
        resp.fail(chain.create_error);
    }
    return true;
}

// Stage 3, the command's handler, for a request that passed its checks. False: drop
// the connection. A handler on a worker whose file I/O may wait leaves it in
// deferred_io: the request is then suspended until that I/O ended (finish_suspended).
bool call_handler(request_state& st) {
    request& req = st.req;
    response& resp = st.resp;
    if (resp.error_body) {
        return true;
    }
    if ((st.h.cmd == command::read || st.h.cmd == command::write) && !st.read_write) {
        resp.fail(status::invalid_parameter); // the fixed part is cut short
        return true;
    }
    req.read_write = st.read_write ? &*st.read_write : nullptr;
    st.entry->handler(req, resp);
    if (resp.disconnect) {
        return false;
    }
    if (resp.deferred_io) {
        return true;
    }
    header& rh = st.rh;
    if (st.h.cmd == command::session_setup) {
        rh.session_id = req.hdr.session_id; // the handler assigns new sessions' ids
        st.sess = req.conn.find_session(rh.session_id);
    }
    if (st.h.cmd == command::tree_connect && resp.status == status::success) {
        rh.tree_id = req.hdr.tree_id; // the handler assigns the new TreeId
    }
    if (resp.pending) {
        // Interim response (3.3.4.2): async header with the new AsyncId, STATUS_PENDING,
        // an ERROR body; it stands alone, outside the chain.
        rh.flags = (rh.flags | flag_async_command) & ~flag_related_operations;
        rh.async_id = req.async_id;
    }
    return true;
}

// The response message: header (with the credits granted, 3.3.1.2) and body, an ERROR
// body (2.2.2) for a failure without one.
void build_response(request_state& st, one_result& out) {
    response& resp = st.resp;
    if (resp.error_body || (resp.status != status::success && resp.body.size() == 0)) {
        resp.body = byte_writer();
        write_error_body(resp.body, resp.error_data);
    }
    st.rh.status = resp.status;
    if (st.h.cmd != command::cancel) {
        st.rh.credits = st.req.conn.credits.grant(std::max<uint16_t>(st.h.credits, 1));
    }
    // The header goes in front of the body in the body's own vector, which was
    // reserved with room for it: no allocation and no copy of the body.
    bytes& m = resp.body.buffer();
    m.insert(m.begin(), header_size, 0);
    write_header(std::span<uint8_t, header_size>(m.data(), header_size), st.rh);
    out.message = std::move(m);
    out.payload = std::move(resp.payload);
    // In the thread's own counter block: no shared write per request.
    counters::count_smb2_response(static_cast<uint16_t>(st.h.cmd), resp.status,
                                  st.req.message.size(), out.message.size() + out.payload.size());
}

// Whether and with which key the response is signed (3.3.4.1.1): when the request was
// signed, the session requires it, or it is the final 3.1.1 SESSION_SETUP response.
void choose_signing(request_state& st, one_result& out) {
    connection& conn = st.req.conn;
    const header& h = st.h;
    header& rh = st.rh;
    session* sess = st.sess;
    if (sess && !sess->signing_key.empty() && !sess->guest && !sess->anonymous) {
        bool final_setup = h.cmd == command::session_setup && st.resp.status == status::success;
        if (h.is_signed() || sess->signing_required ||
            (final_setup && conn.dialect == dialect_311)) {
            out.sign = true;
            out.signing_key = conn.signing_key_of(*sess);
            rh.flags |= flag_signed;
        }
    } else if (st.binding_verified) {
        // An unfinished or refused binding answers with the session's own key.
        out.sign = true;
        out.signing_key = st.binding_target->signing_key;
        out.signing_alg = st.binding_target->signing_alg;
        rh.flags |= flag_signed;
    } else if (h.is_signed() && st.resp.status == status::user_session_deleted) {
        // A signed request for a session this connection is no channel of: clients
        // do not verify this status's signature but want the flag (3.2.5.1.3); with
        // the session's key when it exists elsewhere.
        rh.flags |= flag_signed;
        if (auto other = conn.all_sessions->find(st.req.hdr.session_id);
            other && !other->signing_key.empty()) {
            out.sign = true;
            out.signing_key = other->signing_key;
            out.signing_alg = other->signing_alg;
        }
    }
}

// The preauth integrity hash (3.3.5.4, 3.3.5.5): a 3.1.1 NEGOTIATE and the SESSION_SETUP
// exchanges that go on hash request and response. A hash that cannot be updated (or a
// binding response that cannot be signed for it) closes the connection.
void update_preauth(request_state& st, one_result& out) {
    connection& conn = st.req.conn;
    const header& h = st.h;
    bool crypto_ok = true;
    if (h.cmd == command::session_setup && st.resp.status == status::more_processing_required &&
        conn.dialect == dialect_311) {
        auto binding = conn.bindings.find(st.rh.session_id);
        if (binding != conn.bindings.end()) {
            // The client hashes the response as it arrives: signed (3.2.5.3.3).
            bytes sent = out.message;
            crypto_ok =
                (!out.sign || crypto::sign_in_place(out.signing_alg.value_or(conn.signing_alg),
                                                    out.signing_key, sent)) &&
                crypto::preauth_update(binding->second.preauth, sent);
        } else if (st.sess) {
            crypto_ok = crypto::preauth_update(st.sess->preauth, out.message);
        }
    }
    if (h.cmd == command::negotiate && st.resp.status == status::success &&
        conn.dialect == dialect_311) {
        crypto_ok = crypto::preauth_update(conn.preauth, st.req.message) &&
                    crypto::preauth_update(conn.preauth, out.message);
    }
    if (!crypto_ok) {
        // The preauth hash or the signature would be wrong (crypto.cc logged why).
        out.disconnect = true;
        LOG_ERROR("%s: preauth integrity or signing failed; disconnecting",
                  conn.client_address.c_str());
    }
}

// Stage 4: the response, and what the chain carries to the next request.
void respond(request_state& st, chain_state& chain, const message_context& ctx, one_result& out) {
    connection& conn = st.req.conn;
    if (st.h.cmd == command::create) {
        chain.create_error = st.resp.status == status::success ? 0 : st.resp.status;
    }
    chain.session_id = st.rh.session_id;
    chain.tree_id = st.rh.tree_id;
    chain.session_valid = !st.related_without_session && conn.find_session(st.rh.session_id);
    choose_signing(st, out);
    out.interim = st.resp.pending; // only a handler sets it
    if (out.interim) {
        if (pending_request* p = conn.async_ops.find(st.req.async_id)) {
            p->sign = out.sign;
            p->encrypt = ctx.encrypted;
        }
    }
    build_response(st, out);
    update_preauth(st, out);
}

// One request of a message through the stages. A request whose file I/O a worker
// deferred ends up in `suspended` (out.suspended), unanswered.
one_result process_one(connection& conn, byte_span message, chain_state& chain,
                       const message_context& ctx, bool last_in_chain,
                       std::unique_ptr<request_state>& suspended) {
    one_result out;
    header h;
    if (!parse_header(message, h) || !check_message_id(conn, h)) {
        out.disconnect = true;
        return out;
    }
    request_state st(conn, message, h);
    // Most bodies fit, with the header build_response() puts in front: no growth.
    st.resp.body.buffer().reserve(header_size + small_body);
    take_chain_ids(st, chain, ctx, last_in_chain);

    uint16_t cmd = static_cast<uint16_t>(h.cmd);
    if (cmd >= command_count || (h.cmd != command::cancel && !command_table[cmd].handler)) {
        st.resp.fail(cmd >= command_count ? status::invalid_parameter : status::not_supported);
        build_response(st, out);
        return out;
    }
    if (h.cmd == command::cancel) {
        cancel(conn, h);
        out.send = false;
        return out;
    }
    st.entry = &command_table[cmd];
    if (uint32_t bad = check_structure_size(message, st.entry->structure_size)) {
        st.resp.fail(bad);
        build_response(st, out);
        return out;
    }
    if (!run_checks(st, chain, ctx) || !call_handler(st)) {
        out.disconnect = true;
        return out;
    }
    if (st.resp.deferred_io) {
        suspended = std::make_unique<request_state>(std::move(st));
        out.suspended = true;
        out.send = false;
        return out;
    }
    respond(st, chain, ctx, out);
    return out;
}

} // namespace

namespace {

// The session a TRANSFORM_HEADER message is for, if it may be decrypted (3.3.5.2.1.1).
session* transform_session_of(connection& conn, byte_span msg, transform_header& th) {
    if (!conn.is_smb3() || !parse_transform_header(msg, th)) {
        return nullptr;
    }
    session* s = conn.find_session(th.session_id);
    return s && !s->decryption_key.empty() ? s : nullptr;
}

processing_result process(connection& conn, pool_buffer message, bool decrypted,
                          const message_plan* plan);

} // namespace

bool decrypt_in_place(connection& conn, pool_buffer& message) {
    transform_header th;
    session* s = transform_session_of(conn, message.view(), th);
    if (!s || !crypto::decrypt_in_place(conn.cipher_id, s->decryption_key, message.span())) {
        LOG_WARN("%s: decryption failed; disconnecting", conn.client_address.c_str());
        return false;
    }
    return true;
}

processing_result process_message(connection& conn, pool_buffer message) {
    return process(conn, std::move(message), false, nullptr);
}

processing_result process_decrypted(connection& conn, pool_buffer message) {
    return process(conn, std::move(message), true, nullptr);
}

processing_result process_planned(connection& conn, pool_buffer message, const message_plan& plan) {
    return process(conn, std::move(message), plan.decrypted, &plan);
}

namespace {

// Stage 5: the responses of one message signed (3.3.4.1.1), joined into one chain
// (3.3.4.1.3) and encrypted (3.3.4.1.4) as the request came; then what the message
// caused for other requests (the outbox).
void send_responses(connection& conn, std::span<one_result> parts, size_t count,
                    const message_context& ctx, processing_result& result) {
    // Final responses the chain caused (a CLOSE ends a waiting CHANGE_NOTIFY) go first.
    for (auto& m : conn.take_outbox()) {
        result.replies.push_back(std::move(m));
    }
    // The responses, as one chain; an interim response for the last request goes on its
    // own after the others, as Windows sends it (smbtorture smb2.compound.interim1).
    size_t split = parts.size();
    if (split > 1 && parts.back().interim) {
        --split;
    }
    bool encrypted = ctx.encrypted;
    session* encrypting = encrypted ? conn.find_session(ctx.transform_session) : nullptr;
    if (encrypted && !parts.empty() && (!encrypting || encrypting->encryption_key.empty())) {
        result.disconnect = true;
        return;
    }
    // A response that cannot be signed or encrypted is not sent: the connection closes.
    bool sealed_all = true;
    auto send = [&](std::optional<out_message> m) {
        sealed_all = sealed_all && m.has_value();
        if (sealed_all) {
            result.replies.push_back(std::move(*m));
        }
    };
    auto emit = [&](size_t from, size_t to) {
        if (from == to || !sealed_all) {
            return;
        }
        // Every response of a compound is padded to 8 bytes, the last one too (as
        // Windows and Samba do, smbtorture smb2.compound.compound-padding); NextCommand
        // links all but the last.
        if (to - from == 1 && count == 1) {
            // A single response: its READ data stays in its own buffer.
            auto& p = parts[from];
            sealed_all = !p.sign || encrypted ||
                         crypto::sign_in_place(p.signing_alg.value_or(conn.signing_alg),
                                               p.signing_key, p.message, p.payload.view());
            send(sealed_all ? seal(conn, std::move(p.message), std::move(p.payload), encrypting)
                            : std::nullopt);
            return;
        }
        bytes chain_out;
        for (size_t i = from; i < to; ++i) {
            auto& m = parts[i].message;
            flatten(m, parts[i].payload);
            if (count > 1) {
                while (m.size() % 8) {
                    m.push_back(0);
                }
            }
            if (i + 1 < to) {
                uint32_t n = static_cast<uint32_t>(m.size());
                std::memcpy(m.data() + 20, &n, 4);
            }
            sealed_all = sealed_all &&
                         (!parts[i].sign || encrypted ||
                          crypto::sign_in_place(parts[i].signing_alg.value_or(conn.signing_alg),
                                                parts[i].signing_key, m));
            chain_out.insert(chain_out.end(), m.begin(), m.end());
        }
        send(sealed_all ? seal(conn, std::move(chain_out), {}, encrypting) : std::nullopt);
    };
    emit(0, split);
    emit(split, parts.size());
    if (!sealed_all) {
        LOG_ERROR("%s: a response could not be signed or encrypted; disconnecting",
                  conn.client_address.c_str());
        result.disconnect = true;
        return;
    }

    // LOGOFF answered with the session's keys; now the session goes (3.3.5.6).
    conn.drop_ended_sessions();
    for (auto& m : conn.take_outbox()) {
        result.replies.push_back(std::move(m));
    }
}

processing_result process(connection& conn, pool_buffer message, bool decrypted,
                          const message_plan* plan) {
    processing_result result;
    byte_span msg = message.view();
    message_context ctx;
    ctx.on_worker = plan && plan->on_worker;

    byte_reader peek(msg);
    uint32_t magic = peek.u32();
    if (magic == 0x424D53FF) { // SMB1: only the multi-protocol NEGOTIATE (3.3.5.3)
        if (!conn.negotiated) {
            auto reply = negotiate_from_smb1(conn, msg);
            if (reply) {
                result.replies.push_back(std::move(*reply));
                return result;
            }
        }
        result.disconnect = true;
        return result;
    }
    // Sessions another channel logged off are gone here too (3.3.5.6).
    conn.drop_ended_sessions();
    if (magic == transform_protocol_id) {
        transform_header th;
        if (!decrypted && !decrypt_in_place(conn, message)) {
            result.disconnect = true; // 3.3.5.2.1.1
            return result;
        }
        parse_transform_header(msg, th);
        msg = message.view().subspan(transform_header_size);
        ctx.encrypted = true;
        ctx.transform_session = th.session_id;
    }

    // Walk the chain (3.3.5.2.7).
    chain_state chain;
    // A single request's response stays on the stack; only a compound's go in a vector.
    one_result single;
    bool has_single = false;
    std::vector<one_result> compound;
    std::unique_ptr<request_state> suspended;
    size_t offset = 0;
    size_t count = 0;
    while (true) {
        if (msg.size() - offset < header_size) {
            result.disconnect = true;
            break;
        }
        byte_reader r(msg.subspan(offset));
        r.skip(20);
        uint32_t next = r.u32();
        size_t len = next ? next : msg.size() - offset;
        if (next && (next % 8 != 0 || next < header_size || next > msg.size() - offset)) {
            result.disconnect = true; // a chain we cannot walk safely
            break;
        }
        ++count;
        // The plan parsed a single request's READ or WRITE; a chain's are parsed here.
        ctx.planned =
            plan && offset == 0 && next == 0 && plan->read_write ? &plan->read_write : nullptr;
        auto part = process_one(conn, msg.subspan(offset, len), chain, ctx, next == 0, suspended);
        if (part.suspended) {
            // Only a worker's single request: nothing else of this message to answer.
            result.suspended = std::make_shared<suspended_request>(
                suspended_request{std::move(message), std::move(suspended), chain, ctx, count});
            result.suspended->context.planned = nullptr; // the state holds its own parse
            for (auto& m : conn.take_outbox()) {
                result.replies.push_back(std::move(m));
            }
            return result;
        }
        bool stop = part.disconnect;
        if (!part.disconnect && part.send) {
            if (offset == 0 && next == 0) {
                single = std::move(part);
                has_single = true;
            } else {
                compound.push_back(std::move(part));
            }
        }
        if (stop) {
            result.disconnect = true;
            break;
        }
        if (!next) {
            break;
        }
        offset += next;
    }
    send_responses(conn, has_single ? std::span(&single, 1) : std::span(compound), count, ctx,
                   result);
    return result;
}

} // namespace

void start_suspended(suspended_request& s, async_file_io& io, std::function<void()> done) {
    s.state->resp.deferred_io->start(io, std::move(done));
}

processing_result finish_suspended(connection& conn, suspended_request& s) {
    processing_result result;
    request_state& st = *s.state;
    // The session may have ended while the I/O ran (a LOGOFF through another request):
    // nothing is answered then, with the session's keys gone.
    st.sess = st.req.sess = conn.find_session(st.rh.session_id);
    if (!st.sess) {
        return result;
    }
    st.req.chain_file_id = &s.chain.last_file_id; // the walk's chain_state is gone
    auto io = std::move(st.resp.deferred_io);
    io->complete(st.req, st.resp);
    one_result part;
    respond(st, s.chain, s.context, part);
    if (part.disconnect) {
        result.disconnect = true; // its response could not be completed (update_preauth)
        return result;
    }
    send_responses(conn, std::span(&part, 1), s.count, s.context, result);
    return result;
}

message_plan plan_message(connection& conn, byte_span message) {
    // Only the fields that decide it (2.2.1.2): ProtocolId, Command, NextCommand,
    // SessionId. The engine checks the rest when it processes the request.
    message_plan plan;
    byte_reader r(message);
    uint32_t protocol = r.u32();
    r.seek(12);
    auto cmd = static_cast<command>(r.u16());
    r.seek(20);
    uint32_t next_command = r.u32();
    r.seek(40);
    uint64_t session_id = r.u64();
    if (!conn.negotiated || !r.ok() || message.size() < header_size || protocol != protocol_id ||
        next_command != 0 || static_cast<uint16_t>(cmd) >= command_count) {
        return plan; // compounds and the unknown go to the request threads
    }
    const placement& where = command_table[static_cast<uint16_t>(cmd)].where;
    switch (where.kind) {
    case placement::on_worker:
        plan.on_worker = true;
        break;
    case placement::on_worker_if:
        plan.read_write = parse_read_write(cmd, message);
        // A request cut short fails without I/O: the worker answers it.
        plan.on_worker =
            !plan.read_write || where.may_run_on_worker(conn, session_id, *plan.read_write);
        break;
    case placement::request_thread:
        break;
    }
    return plan;
}

void complete_async(connection& conn, uint64_t async_id, uint32_t st, const bytes& body) {
    pending_request* p = conn.async_ops.find(async_id);
    if (!p) {
        return;
    }
    pending_request r = *p;
    conn.async_ops.remove(async_id);
    conn.waiting_creates.erase(async_id); // a cancelled CREATE's open closes here
    session* s = conn.find_session(r.session_id);
    if ((r.sign || r.encrypt) && !s) {
        return; // the session is gone and its keys with it
    }
    // Final response (3.3.4.2): the interim's AsyncId; the interim granted the credits.
    header rh;
    rh.cmd = r.cmd;
    rh.credit_charge = r.credit_charge;
    rh.message_id = r.message_id;
    rh.flags = flag_server_to_redir | flag_async_command;
    rh.async_id = async_id;
    rh.session_id = r.session_id;
    rh.status = st;
    rh.credits = 0;
    const bytes& signing_key = conn.signing_key_of(*s);
    bool sign = r.sign && !r.encrypt && !signing_key.empty();
    if (sign) {
        rh.flags |= flag_signed;
    }
    byte_writer w;
    write_header(w, rh);
    if (body.empty()) {
        write_error_body(w);
    } else {
        w.put(body);
    }
    bytes m = w.take();
    if (r.encrypt && s->encryption_key.empty()) {
        return;
    }
    auto sealed = sign && !crypto::sign_in_place(conn.signing_alg, signing_key, m)
                      ? std::nullopt
                      : seal(conn, std::move(m), {}, r.encrypt ? s : nullptr);
    if (!sealed) {
        // No way to close the connection from here: the final response is dropped.
        LOG_ERROR("%s: final response to an async request could not be signed or encrypted",
                  conn.client_address.c_str());
        return;
    }
    conn.outbox.push_back(std::move(sealed->head));
}

void queue_notification(connection& conn, session& s, command cmd, const bytes& body) {
    header h;
    h.cmd = cmd;
    h.message_id = ~0ULL;
    h.flags = flag_server_to_redir;
    h.credits = 0;
    byte_writer w;
    write_header(w, h);
    w.put(body);
    bool encrypt = s.encrypt_data && !s.encryption_key.empty();
    auto sealed = seal(conn, w.take(), {}, encrypt ? &s : nullptr);
    if (!sealed) {
        LOG_ERROR("%s: a break notification could not be encrypted", conn.client_address.c_str());
        return;
    }
    conn.outbox.push_back(std::move(sealed->head));
}

uint16_t request_structure_size(command cmd) {
    uint16_t c = static_cast<uint16_t>(cmd);
    return c < command_count ? command_table[c].structure_size : 0;
}

} // namespace smbx::smb2
