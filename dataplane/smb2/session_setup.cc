// SMB2 SESSION_SETUP and LOGOFF (MS-SMB2 3.3.5.5, 3.3.5.6; wire 2.2.5-2.2.8).
// Authentication itself happens in smbx-control: this side forwards the security
// blob, keeps the session's state and derives the SMB keys from the session key.
#include "common/log.hh"
#include "dataplane/control_client.hh"
#include "dataplane/smb2/handlers.hh"

namespace smbx::smb2 {

namespace {

constexpr uint8_t flag_binding = 0x01;
// Channels per session, as Windows Server allows (smbtorture
// smb2.multichannel.generic.num_channels expects the 33rd to be refused).
constexpr uint32_t max_channels = 32;

byte_span label(const char* s, size_t with_nul) {
    return byte_span(reinterpret_cast<const uint8_t*>(s), with_nul);
}

// The signing key of a session or channel (3.3.5.5.3, 3.1.4.2): for 3.1.1 from the
// preauthentication hash of the exchange that produced `session_key`. nullopt: the KDF
// failed (crypto.cc logged why).
std::optional<bytes> derive_signing_key(const connection& conn, const bytes& session_key,
                                        const crypto::preauth_hash& preauth) {
    if (conn.dialect < dialect_300) {
        return session_key; // HMAC-SHA256 over the session key (3.1.4.1)
    }
    if (conn.dialect == dialect_311) {
        return crypto::kdf(session_key, label("SMBSigningKey", 14),
                           byte_span(preauth.data(), preauth.size()), 16);
    }
    return crypto::kdf(session_key, label("SMB2AESCMAC", 12), label("SmbSign", 8), 16);
}

// Signing, encryption and application keys (3.3.5.5.3, 3.1.4.2). False: a KDF failed,
// and the session has no usable keys.
bool derive_keys(const connection& conn, session& s) {
    s.session_key.resize(16);
    auto signing = derive_signing_key(conn, s.session_key, s.preauth);
    if (!signing) {
        return false;
    }
    s.signing_key = std::move(*signing);
    if (conn.dialect < dialect_300) {
        return true;
    }
    size_t cipher_len =
        conn.cipher_id == cipher::none ? 16 : crypto::cipher_key_size(conn.cipher_id);
    std::optional<bytes> app, enc, dec;
    if (conn.dialect == dialect_311) {
        byte_span ctx(s.preauth.data(), s.preauth.size());
        app = crypto::kdf(s.session_key, label("SMBAppKey", 10), ctx, 16);
        enc = crypto::kdf(s.session_key, label("SMBS2CCipherKey", 16), ctx, cipher_len);
        dec = crypto::kdf(s.session_key, label("SMBC2SCipherKey", 16), ctx, cipher_len);
    } else {
        app = crypto::kdf(s.session_key, label("SMB2APP", 8), label("SmbRpc", 7), 16);
        enc = crypto::kdf(s.session_key, label("SMB2AESCCM", 11), label("ServerOut", 10), 16);
        dec = crypto::kdf(s.session_key, label("SMB2AESCCM", 11), label("ServerIn ", 10), 16);
    }
    if (!app || !enc || !dec) {
        return false;
    }
    s.application_key = std::move(*app);
    s.encryption_key = std::move(*enc);
    s.decryption_key = std::move(*dec);
    return true;
}

bool encryption_possible(const connection& conn) {
    return conn.is_smb3() && conn.cipher_id != cipher::none;
}

void write_body(response& resp, uint16_t session_flags, const bytes& token) {
    auto& w = resp.body;
    w.u16(9);
    w.u16(session_flags);
    w.u16(static_cast<uint16_t>(header_size + 8));
    w.u16(static_cast<uint16_t>(token.size()));
    w.put(token);
}

// Binds this connection to an existing session as a further channel (3.3.5.5 step 4,
// 3.3.5.5.3): how a client adds connections (on other workers, or SMB Direct ones) to
// the session it set up over TCP. The request is signed with the session's key
// (dispatch.cc verified it); the channel signs with a key of its own, derived from
// this authentication and, at 3.1.1, from this exchange's preauthentication hash.
void bind_channel(request& req, response& resp, byte_span blob) {
    connection& conn = req.conn;
    uint64_t id = req.hdr.session_id;
    if (!conn.is_smb3() || !conn.multichannel) {
        resp.fail(status::request_not_accepted); // no binding before 3.0 (2.2.5 Flags)
        return;
    }
    auto pending = conn.bindings.find(id);
    auto s = pending != conn.bindings.end() ? pending->second.sess : conn.all_sessions->find(id);
    uint32_t refusal = status::success;
    if (!s || s->logged_off) {
        refusal = status::user_session_deleted;
    } else if (s->dialect != conn.dialect) {
        refusal = status::invalid_parameter;
    } else if (!req.hdr.is_signed()) {
        refusal = status::invalid_parameter;
    } else if (s->client_guid != conn.client_guid) {
        refusal = status::user_session_deleted; // "MAY fail" (3.3.5.5): we do
    } else if (s->st == session::state::in_progress) {
        refusal = status::request_not_accepted;
    } else if (s->st == session::state::expired) {
        refusal = status::network_session_expired;
    } else if (s->guest || s->anonymous) {
        refusal = status::not_supported;
    } else if (conn.find_session(id)) {
        refusal = status::request_not_accepted; // already a channel of this connection
    } else if (s->channels >= max_channels) {
        refusal = status::insufficient_resources;
    } else if (s->cipher_id != conn.cipher_id || s->signing_alg != conn.signing_alg) {
        // The channel must protect messages as the session does (3.3.5.5: 3.1.1
        // Connection.CipherId / SigningAlgorithmId of Session.Connection).
        refusal = status::invalid_parameter;
    }
    if (refusal != status::success) {
        if (pending != conn.bindings.end()) {
            if (pending->second.auth_id) {
                conn.control.abandon(pending->second.auth_id);
            }
            conn.bindings.erase(pending);
        }
        resp.fail(refusal);
        return;
    }
    if (pending == conn.bindings.end()) {
        pending = conn.bindings.emplace(id, connection::binding{s, 0, conn.preauth}).first;
    }
    connection::binding& b = pending->second;
    if (conn.dialect == dialect_311 && !crypto::preauth_update(b.preauth, req.message)) {
        conn.bindings.erase(pending);
        resp.fail(status::internal_error);
        return;
    }

    ipc::auth_request ar;
    ar.auth_id = b.auth_id;
    ar.client_address = conn.client_address;
    ar.blob.assign(blob.begin(), blob.end());
    auto reply = conn.control.authenticate(ar);
    if (reply && reply->status == status::more_processing_required) {
        b.auth_id = reply->auth_id;
        resp.status = status::more_processing_required;
        write_body(resp, 0, reply->blob);
        return;
    }
    connection::binding done = std::move(b);
    conn.bindings.erase(pending);
    if (!reply) {
        resp.fail(status::insufficient_resources);
        return;
    }
    if (reply->status != status::success) {
        LOG_NOTICE("%s: channel binding: authentication failed (0x%08x)",
                   conn.client_address.c_str(), reply->status);
        resp.fail(reply->status);
        return;
    }
    if (reply->user != s->user || reply->guest || reply->anonymous) {
        resp.fail(status::access_denied); // another user may not bind (3.3.5.5.3)
        return;
    }
    if (s->logged_off) {
        resp.fail(status::user_session_deleted); // ended meanwhile on another channel
        return;
    }
    bytes key = reply->session_key;
    key.resize(16);
    auto channel_key = derive_signing_key(conn, key, done.preauth);
    if (!channel_key) {
        resp.fail(status::internal_error);
        return;
    }
    conn.add_channel(s, std::move(*channel_key));
    LOG_INFO("%s: bound to session %016llx of %s (%u channels)", conn.client_address.c_str(),
             static_cast<unsigned long long>(s->id), s->user.c_str(), s->channels.load());
    write_body(resp, 0, reply->blob);
}

} // namespace

void handle_session_setup(request& req, response& resp) {
    connection& conn = req.conn;
    byte_reader r = req.body();
    r.skip(2);
    uint8_t flags = r.u8();
    uint8_t security_mode = r.u8();
    r.skip(4 + 4); // Capabilities, Channel
    uint16_t blob_offset = r.u16();
    uint16_t blob_length = r.u16();
    uint64_t previous_session_id = r.u64();
    byte_reader whole(req.message);
    auto blob = whole.at(blob_offset, blob_length);
    if (!r.ok() || !whole.ok()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (flags & flag_binding) {
        bind_channel(req, resp, blob);
        return;
    }
    // `server smb encrypt = required` refuses clients that cannot encrypt (3.3.5.5 1-2).
    if (conn.settings.encrypt == encrypt_policy::required && !encryption_possible(conn)) {
        resp.fail(status::access_denied);
        return;
    }

    session* s;
    if (req.hdr.session_id == 0) {
        s = &conn.add_new_session();
        s->preauth = conn.preauth;
        req.hdr.session_id = s->id;
    } else {
        s = conn.find_session(req.hdr.session_id);
        if (!s || s->logged_off) {
            resp.fail(status::user_session_deleted);
            return;
        }
    }
    bool reauth = s->st == session::state::valid;
    if (conn.dialect == dialect_311 && !reauth &&
        !crypto::preauth_update(s->preauth, req.message)) {
        conn.remove_session(s->id);
        resp.fail(status::internal_error);
        return;
    }

    ipc::auth_request ar;
    ar.auth_id = s->auth_id;
    ar.client_address = conn.client_address;
    ar.blob.assign(blob.begin(), blob.end());
    auto reply = conn.control.authenticate(ar);
    if (!reply) {
        LOG_WARN("%s: no answer from the control plane for SESSION_SETUP",
                 conn.client_address.c_str());
        if (!reauth) {
            conn.remove_session(s->id);
        }
        resp.fail(status::insufficient_resources);
        return;
    }
    if (reply->status == status::more_processing_required) {
        s->auth_id = reply->auth_id;
        resp.status = status::more_processing_required;
        write_body(resp, 0, reply->blob);
        return;
    }
    s->auth_id = 0;
    if (reply->status != status::success) {
        LOG_NOTICE("%s: authentication failed (0x%08x)", conn.client_address.c_str(),
                   reply->status);
        if (!reauth) {
            conn.remove_session(s->id);
        } else {
            // A failed re-authentication ends the session (3.3.5.5.3), as Samba does;
            // it goes once this response is sent.
            conn.end_session(*s);
        }
        resp.fail(reply->status);
        return;
    }
    if (reauth) {
        // Re-authentication keeps the session's keys (3.3.5.5.3); only the same user may.
        if (reply->user != s->user) {
            resp.fail(status::access_denied);
            return;
        }
        write_body(resp, 0, reply->blob);
        return;
    }
    s->user = reply->user;
    s->domain = reply->domain;
    s->guest = reply->guest;
    s->anonymous = reply->anonymous;
    s->session_key = reply->session_key;
    uint16_t session_flags = 0;
    if (s->guest) {
        session_flags |= session_flag_is_guest;
    } else if (s->anonymous) {
        session_flags |= session_flag_is_null;
    } else {
        if (!derive_keys(conn, *s)) {
            // No keys, no session: nothing could be signed or encrypted for it.
            conn.remove_session(s->id);
            resp.fail(status::internal_error);
            return;
        }
        s->signing_required = conn.settings.signing == signing_policy::mandatory ||
                              (security_mode & signing_required);
        bool want_encryption = conn.settings.encrypt == encrypt_policy::required ||
                               conn.settings.encrypt == encrypt_policy::desired;
        if (want_encryption && encryption_possible(conn)) {
            s->encrypt_data = true;
            session_flags |= session_flag_encrypt_data;
        }
    }
    if (conn.settings.signing == signing_policy::mandatory && (s->guest || s->anonymous)) {
        resp.fail(status::access_denied); // mandatory signing needs a session key
        conn.remove_session(s->id);
        return;
    }
    s->st = session::state::valid;
    // A reconnecting client names its previous session (3.3.5.5.3), usually one of a
    // connection that broke: that session is logged off wherever it is bound, its
    // opens closed (pending CHANGE_NOTIFYs end with NOTIFY_CLEANUP).
    if (previous_session_id != 0 && previous_session_id != s->id) {
        auto old = conn.all_sessions->find(previous_session_id);
        if (old && old->st == session::state::valid && old->user == s->user && !old->logged_off) {
            conn.end_session(*old);
        }
    }
    LOG_INFO("%s: session %016llx for %s%s", conn.client_address.c_str(),
             static_cast<unsigned long long>(s->id), s->user.c_str(),
             s->encrypt_data ? " (encrypted)" : "");
    write_body(resp, session_flags, reply->blob);
}

void handle_logoff(request& req, response& resp) {
    req.conn.end_session(*req.sess); // on every channel (3.3.5.6)
    resp.body.u16(4);
    resp.body.u16(0);
}

} // namespace smbx::smb2
