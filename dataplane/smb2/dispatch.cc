#include "dataplane/smb2/dispatch.hh"

#include <cstring>
#include <optional>

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/negotiate.hh"

namespace smbx::smb2 {

namespace {

// A response body's first allocation: READ, WRITE, CLOSE, CREATE without contexts and
// most others fit (MS-SMB2 2.2.14-2.2.22).
constexpr size_t small_body = 128;

// What the engine checks before a handler runs (MS-SMB2 3.3.5.2.9, 3.3.5.2.11).
enum needs : uint8_t { none = 0, session_needed = 1, tree_needed = 2 | 1 };

struct command_entry {
    void (*handler)(request&, response&);
    uint8_t needs;
    uint16_t structure_size; // request StructureSize (2.2.x); 0: the handler checks
};

// The one table of every SMB2 command.
const command_entry command_table[command_count] = {
    {handle_negotiate, none, 36},              // 0x00
    {handle_session_setup, none, 25},          // 0x01
    {handle_logoff, session_needed, 4},        // 0x02
    {handle_tree_connect, session_needed, 9},  // 0x03
    {handle_tree_disconnect, tree_needed, 4},  // 0x04
    {handle_create, tree_needed, 57},          // 0x05
    {handle_close, tree_needed, 24},           // 0x06
    {handle_flush, tree_needed, 24},           // 0x07
    {handle_read, tree_needed, 49},            // 0x08
    {handle_write, tree_needed, 49},           // 0x09
    {handle_lock, tree_needed, 48},            // 0x0A
    {handle_ioctl, tree_needed, 57},           // 0x0B
    {nullptr, none, 4},                        // 0x0C CANCEL: handled here
    {handle_echo, none, 4},                    // 0x0D
    {handle_query_directory, tree_needed, 33}, // 0x0E
    {handle_change_notify, tree_needed, 32},   // 0x0F
    {handle_query_info, tree_needed, 41},      // 0x10
    {handle_set_info, tree_needed, 33},        // 0x11
    {nullptr, tree_needed, 24},                // 0x12 OPLOCK_BREAK: no oplocks granted
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

// Bytes of payload a multi-credit request moves (3.3.5.2.5). `body` starts at the
// request's StructureSize.
uint32_t payload_size(const header& h, byte_reader body) {
    switch (h.cmd) {
    case command::read:
    case command::write:
        body.skip(4);      // StructureSize, Padding/DataOffset, Flags
        return body.u32(); // Length
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

struct one_result {
    bytes message;       // response header + body
    pool_buffer payload; // READ data that follows the body
    bool send = true;    // false for CANCEL
    bool disconnect = false;
    bytes signing_key;                            // set when this response is signed
    std::optional<signing_algorithm> signing_alg; // the connection's unless set
    bool sign = false;
    bool interim = false; // an interim response: the request went async
};

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

bool requires_encryption(const session* s, const tree_connect* t) {
    return (s && s->encrypt_data) || (t && t->encrypt_required());
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

one_result process_one(connection& conn, byte_span message, chain_state& chain, bool encrypted,
                       uint64_t transform_session, bool last_in_chain) {
    one_result out;
    header h;
    if (!parse_header(message, h) || (h.flags & flag_server_to_redir)) {
        out.disconnect = true;
        return out;
    }
    uint16_t cmd = static_cast<uint16_t>(h.cmd);
    // Before NEGOTIATE only NEGOTIATE is valid (3.3.5.2).
    if (conn.negotiated == (h.cmd == command::negotiate)) { // a second NEGOTIATE too
        out.disconnect = true;
        return out;
    }
    if (h.cmd != command::cancel && !conn.credits.consume(h.message_id, h.credit_charge)) {
        LOG_WARN("%s: MessageId %llu outside the credit window; disconnecting",
                 conn.client_address.c_str(), static_cast<unsigned long long>(h.message_id));
        out.disconnect = true;
        return out;
    }

    response resp;
    resp.body.buffer().reserve(small_body); // most bodies fit: no growth by doubling
    request req{conn, h, message};
    req.chain_file_id = &chain.last_file_id;
    req.last_in_chain = last_in_chain;
    req.encrypted = encrypted;
    if (!h.is_related()) {
        chain.last_file_id = file_id{~0ULL, ~0ULL}; // an unrelated request has no "previous" open
    }
    header rh;
    rh.cmd = h.cmd;
    rh.credit_charge = h.credit_charge;
    rh.message_id = h.message_id;
    rh.flags = flag_server_to_redir | (h.flags & flag_related_operations);
    rh.process_id = h.process_id;
    rh.tree_id = h.tree_id;
    rh.session_id = h.session_id;

    bool related_without_session = false;
    if (h.is_related()) {
        // Related operations take the previous request's ids (3.3.5.2.7.2). With no
        // previous request, or one whose session did not exist, there is nothing to
        // take: INVALID_PARAMETER, as Windows and Samba answer (smbtorture
        // smb2.compound.invalid1, invalid2, related9).
        req.hdr.session_id = rh.session_id = chain.session_id;
        req.hdr.tree_id = rh.tree_id = chain.tree_id;
        related_without_session = !chain.session_valid;
    }
    chain.session_valid = !related_without_session && conn.find_session(req.hdr.session_id);

    auto finish = [&](void) {
        if (resp.error_body || (resp.status != status::success && resp.body.size() == 0)) {
            resp.body = byte_writer();
            write_error_body(resp.body, resp.error_data);
        }
        rh.status = resp.status;
        if (h.cmd != command::cancel) {
            rh.credits = conn.credits.grant(std::max<uint16_t>(h.credits, 1));
        }
        byte_writer w;
        w.buffer().reserve(header_size + resp.body.size());
        write_header(w, rh);
        w.put(resp.body.buffer());
        out.message = w.take();
        out.payload = std::move(resp.payload);
    };

    if (cmd >= command_count || (h.cmd != command::cancel && !command_table[cmd].handler)) {
        resp.fail(cmd >= command_count ? status::invalid_parameter : status::not_supported);
        finish();
        return out;
    }
    if (h.cmd == command::cancel) {
        cancel(conn, h);
        out.send = false;
        return out;
    }
    const command_entry& entry = command_table[cmd];
    {
        byte_reader b = req.body();
        uint16_t ss = b.u16();
        if (!b.ok() || (entry.structure_size && ss != entry.structure_size)) {
            resp.fail(status::invalid_parameter);
            finish();
            return out;
        }
    }

    // Session (3.3.5.2.9).
    session* sess = nullptr;
    bool check_session = (entry.needs & session_needed) ||
                         (h.cmd == command::echo && req.hdr.session_id != 0 && !encrypted);
    if (related_without_session) {
        resp.fail(status::invalid_parameter);
    } else if (check_session) {
        sess = conn.find_session(req.hdr.session_id);
        if (!sess) {
            resp.fail(status::user_session_deleted);
        } else if (sess->st != session::state::valid && h.cmd != command::logoff &&
                   h.cmd != command::close && h.cmd != command::lock) {
            resp.fail(sess->st == session::state::expired ? status::network_session_expired
                                                          : status::user_session_deleted);
        }
    } else if (h.cmd == command::session_setup && req.hdr.session_id != 0) {
        sess = conn.find_session(req.hdr.session_id);
    }
    // A binding SESSION_SETUP names a session of another connection (3.3.5.5): it is
    // signed with that session's key and algorithm, and so are the responses until
    // the channel has its own key.
    std::shared_ptr<session> binding_target;
    if (h.cmd == command::session_setup && !sess && req.hdr.session_id != 0 && h.is_signed() &&
        (req.message.size() > header_size + 2) && (req.message[header_size + 2] & 0x01)) {
        binding_target = conn.all_sessions->find(req.hdr.session_id);
    }
    bool binding_verified = false;
    if (encrypted && sess && sess->id != transform_session) {
        out.disconnect = true; // a request encrypted for another session (3.3.5.2.1.1)
        return out;
    }

    // Signature (3.3.5.2.4).
    if (!resp.error_body && !encrypted && h.cmd != command::negotiate) {
        if (h.is_signed()) {
            session* key_owner = sess ? sess : conn.find_session(req.hdr.session_id);
            if (!key_owner && binding_target) {
                if (!binding_target->signing_key.empty() &&
                    crypto::verify_signature(binding_target->signing_alg,
                                             binding_target->signing_key, message)) {
                    binding_verified = true;
                } else {
                    LOG_WARN("%s: bad signature on a binding request", conn.client_address.c_str());
                    resp.fail(status::access_denied);
                }
            } else if (!key_owner || key_owner->signing_key.empty()) {
                if (!key_owner && h.cmd != command::session_setup) {
                    resp.fail(status::user_session_deleted);
                }
            } else if (!crypto::verify_signature(conn.signing_alg, conn.signing_key_of(*key_owner),
                                                 message)) {
                LOG_WARN("%s: bad signature on %s request", conn.client_address.c_str(), "SMB2");
                resp.fail(status::access_denied);
            }
        } else if (sess && sess->st == session::state::valid && sess->signing_required &&
                   h.cmd != command::session_setup && h.cmd != command::echo) {
            resp.fail(status::access_denied);
        }
    } else if (!resp.error_body && h.cmd == command::negotiate && h.is_signed()) {
        resp.fail(status::invalid_parameter);
    }

    // Tree connect (3.3.5.2.11).
    tree_connect* tree = nullptr;
    if (!resp.error_body && sess && (entry.needs & 2)) {
        req.tree_ref = conn.find_tree(*sess, req.hdr.tree_id);
        tree = req.tree_ref.get();
        if (!tree) {
            resp.fail(status::network_name_deleted);
        }
    }
    // Encryption required but the request came in the clear (3.3.5.2.9, 3.3.5.2.11).
    if (!resp.error_body && !encrypted && conn.is_smb3() && h.cmd != command::negotiate &&
        h.cmd != command::session_setup && requires_encryption(sess, tree)) {
        resp.fail(status::access_denied);
    }

    // Credit charge must cover the payload of large requests (3.3.5.2.5).
    if (!resp.error_body && conn.large_mtu()) {
        uint32_t payload = payload_size(h, req.body());
        uint32_t needed = payload ? (payload - 1) / 65536 + 1 : 1;
        if (std::max<uint16_t>(h.credit_charge, 1) < needed) {
            resp.fail(status::invalid_parameter);
        }
    }

    // Related requests after a failed CREATE fail the same way (3.3.5.2.7.2).
    if (!resp.error_body && h.is_related() && chain.create_error != 0 && h.cmd != command::create) {
        resp.fail(chain.create_error);
    }

    if (!resp.error_body) {
        req.sess = sess;
        req.tree = tree;
        entry.handler(req, resp);
        if (resp.disconnect) {
            out.disconnect = true;
            return out;
        }
        if (h.cmd == command::session_setup) {
            rh.session_id = req.hdr.session_id; // the handler assigns new sessions' ids
            sess = conn.find_session(rh.session_id);
        }
        if (h.cmd == command::tree_connect && resp.status == status::success) {
            rh.tree_id = req.hdr.tree_id; // the handler assigns the new TreeId
        }
        if (resp.pending) {
            // Interim response (3.3.4.2): async header with the new AsyncId, STATUS_PENDING,
            // an ERROR body; it stands alone, outside the chain.
            rh.flags = (rh.flags | flag_async_command) & ~flag_related_operations;
            rh.async_id = req.async_id;
            out.interim = true;
        }
    }
    if (h.cmd == command::create) {
        chain.create_error = resp.status == status::success ? 0 : resp.status;
    }
    chain.session_id = rh.session_id;
    chain.tree_id = rh.tree_id;
    chain.session_valid = !related_without_session && conn.find_session(rh.session_id);

    // Signing the response (3.3.4.1.1): when the request was signed, the session
    // requires it, or it is the final 3.1.1 SESSION_SETUP response.
    if (sess && !sess->signing_key.empty() && !sess->guest && !sess->anonymous) {
        bool final_setup = h.cmd == command::session_setup && resp.status == status::success;
        if (h.is_signed() || sess->signing_required ||
            (final_setup && conn.dialect == dialect_311)) {
            out.sign = true;
            out.signing_key = conn.signing_key_of(*sess);
            rh.flags |= flag_signed;
        }
    } else if (binding_verified) {
        // An unfinished or refused binding answers with the session's own key.
        out.sign = true;
        out.signing_key = binding_target->signing_key;
        out.signing_alg = binding_target->signing_alg;
        rh.flags |= flag_signed;
    } else if (h.is_signed() && resp.status == status::user_session_deleted) {
        // A signed request for a session this connection is no channel of: clients
        // do not verify this status's signature but want the flag (3.2.5.1.3); with
        // the session's key when it exists elsewhere.
        rh.flags |= flag_signed;
        if (auto other = conn.all_sessions->find(req.hdr.session_id);
            other && !other->signing_key.empty()) {
            out.sign = true;
            out.signing_key = other->signing_key;
            out.signing_alg = other->signing_alg;
        }
    }
    if (out.interim) {
        if (pending_request* p = conn.async_ops.find(req.async_id)) {
            p->sign = out.sign;
            p->encrypt = encrypted;
        }
    }
    finish();
    bool crypto_ok = true;
    if (h.cmd == command::session_setup && resp.status == status::more_processing_required &&
        conn.dialect == dialect_311) {
        auto binding = conn.bindings.find(rh.session_id);
        if (binding != conn.bindings.end()) {
            // The client hashes the response as it arrives: signed (3.2.5.3.3).
            bytes sent = out.message;
            crypto_ok =
                (!out.sign || crypto::sign_in_place(out.signing_alg.value_or(conn.signing_alg),
                                                    out.signing_key, sent)) &&
                crypto::preauth_update(binding->second.preauth, sent);
        } else if (sess) {
            crypto_ok = crypto::preauth_update(sess->preauth, out.message);
        }
    }
    if (h.cmd == command::negotiate && resp.status == status::success &&
        conn.dialect == dialect_311) {
        crypto_ok = crypto::preauth_update(conn.preauth, message) &&
                    crypto::preauth_update(conn.preauth, out.message);
    }
    if (!crypto_ok) {
        // The preauth hash or the signature would be wrong (crypto.cc logged why).
        out.disconnect = true;
        LOG_ERROR("%s: preauth integrity or signing failed; disconnecting",
                  conn.client_address.c_str());
    }
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

processing_result process(connection& conn, pool_buffer message, bool decrypted);

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
    return process(conn, std::move(message), false);
}

processing_result process_decrypted(connection& conn, pool_buffer message) {
    return process(conn, std::move(message), true);
}

namespace {

processing_result process(connection& conn, pool_buffer message, bool decrypted) {
    processing_result result;
    byte_span msg = message.view();
    bool encrypted = false;
    uint64_t transform_session = 0;

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
        encrypted = true;
        transform_session = th.session_id;
    }

    // Walk the chain (3.3.5.2.7).
    chain_state chain;
    std::vector<one_result> parts;
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
        auto part = process_one(conn, msg.subspan(offset, len), chain, encrypted, transform_session,
                                next == 0);
        bool stop = part.disconnect;
        if (!part.disconnect && part.send) {
            parts.push_back(std::move(part));
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
    session* encrypting = encrypted ? conn.find_session(transform_session) : nullptr;
    if (encrypted && !parts.empty() && (!encrypting || encrypting->encryption_key.empty())) {
        result.disconnect = true;
        return result;
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
            send(seal(conn, std::move(p.message), std::move(p.payload), encrypting));
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
        return result;
    }

    // LOGOFF answered with the session's keys; now the session goes (3.3.5.6).
    conn.drop_ended_sessions();
    for (auto& m : conn.take_outbox()) {
        result.replies.push_back(std::move(m));
    }
    return result;
}

} // namespace

bool can_process_on_worker(connection& conn, byte_span message) {
    // Only the fields that decide it (2.2.1.2): ProtocolId, Command, NextCommand. The
    // engine checks the rest when it processes the request.
    byte_reader r(message);
    uint32_t protocol = r.u32();
    r.seek(12);
    auto cmd = static_cast<command>(r.u16());
    r.seek(20);
    uint32_t next_command = r.u32();
    if (!conn.negotiated || !r.ok() || message.size() < header_size || protocol != protocol_id ||
        next_command != 0) {
        return false;
    }
    switch (cmd) {
    case command::echo:
        return true;
    case command::read:
        return prefetch_read(conn, message);
    case command::write:
        return worker_may_write(conn, message);
    default:
        return false;
    }
}

void complete_async(connection& conn, uint64_t async_id, uint32_t st, const bytes& body) {
    pending_request* p = conn.async_ops.find(async_id);
    if (!p) {
        return;
    }
    pending_request r = *p;
    conn.async_ops.remove(async_id);
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

} // namespace smbx::smb2
