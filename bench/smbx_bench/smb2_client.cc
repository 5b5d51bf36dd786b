#include "bench/smbx_bench/smb2_client.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "bench/smbx_bench/smbd_client_transport.hh"
#include "bench/smbx_bench/tcp_transport.hh"
#include "common/ntstatus.hh"
#include "control/auth/ntlm_client.hh"
#include "control/auth/ntlm_crypto.hh"
#include "control/auth/spnego.hh"
#include "dataplane/smb2/crypto.hh"

namespace smbx::bench {

namespace {

using smb2::command;

byte_span label(const char* s, size_t with_nul) {
    return byte_span(reinterpret_cast<const uint8_t*>(s), with_nul);
}

// The client has nothing to fall back on when its own crypto fails: the run stops.
void need(bool ok, const char* what) {
    if (!ok) {
        throw smb_error(std::string("client crypto failed: ") + what);
    }
}

template <typename T> T need(std::optional<T> v, const char* what) {
    need(v.has_value(), what);
    return std::move(*v);
}

std::string hex_status(uint32_t st) {
    char buf[16];
    snprintf(buf, sizeof(buf), "0x%08x", st);
    return buf;
}

std::string status_text(uint32_t st) {
    switch (st) {
    case status::logon_failure:
        return "STATUS_LOGON_FAILURE (" + hex_status(st) + "): wrong user name or password";
    case 0xC0000022:
        return "STATUS_ACCESS_DENIED (" + hex_status(st) + ")";
    case 0xC00000CC:
        return "STATUS_BAD_NETWORK_NAME (" + hex_status(st) + "): no such share";
    default:
        return "NTSTATUS " + hex_status(st);
    }
}

// Wanted credits beyond the charge, so the window grows to cover the iodepth (3.2.4.1.5).
constexpr uint16_t credit_ask = 64;

// READ/WRITE Channel (MS-SMB2 2.2.19, 2.2.21).
constexpr uint32_t channel_none = 0;
constexpr uint32_t channel_rdma_v1 = 1;
constexpr uint32_t channel_rdma_v1_invalidate = 2;

uint32_t channel_for(const rdma_buffer& b) {
    return b.invalidate ? channel_rdma_v1_invalidate : channel_rdma_v1;
}

} // namespace

smb2_client::~smb2_client() = default;

uint16_t smb2_client::credit_charge(size_t length) {
    // One credit per 64 KiB (3.1.5.2), at least one.
    return uint16_t(std::max<size_t>(1, (length + 65535) / 65536));
}

uint32_t smb2_client::max_write() const {
    // An encrypted WRITE carries its data in the message (no RDMA channel), which SMB
    // Direct caps at the server's MaxFragmentedSize; leave 4 KiB for the SMB2 and
    // transform headers.
    if (_encrypt && _transport) {
        const size_t room = _transport->max_message_size();
        if (room < size_t(_max_write) + 4096) {
            return uint32_t((room - 4096) & ~size_t(4095));
        }
    }
    return _max_write;
}

bool smb2_client::can_send(size_t length) const {
    return _credits >= (_large_mtu ? credit_charge(length) : 1);
}

uint64_t smb2_client::send(command cmd, const bytes& body, size_t payload_len, byte_span payload,
                           bytes* raw) {
    size_t length = std::max(payload_len, payload.size());
    uint16_t charge = _large_mtu ? credit_charge(length) : 1;
    if (_credits < charge) {
        throw smb_error("out of credits");
    }
    smb2::header h;
    h.credit_charge = _dialect >= smb2::dialect_210 ? charge : 0;
    h.cmd = cmd;
    h.credits = charge + (_credits < 512 ? credit_ask : 0);
    h.message_id = _next_message_id;
    h.tree_id = _tree_id;
    h.session_id = _session_id;
    // 3.1.1: a TREE_CONNECT on an authenticated session is always signed (MS-SMB2
    // 3.2.4.1.1; a server disconnects otherwise, 3.3.5.7).
    bool sign = (_sign || (cmd == command::tree_connect && _sign_tree_connect)) && !_encrypt &&
                cmd != command::session_setup && cmd != command::negotiate;
    if (sign) {
        h.flags |= smb2::flag_signed;
    }
    _next_message_id += charge;
    _credits -= charge;

    byte_writer w;
    w.buffer().reserve(smb2::header_size + body.size() + payload.size());
    smb2::write_header(w, h);
    w.put(body);
    w.put(payload);
    bytes msg = w.take();
    if (sign) {
        need(smb2::crypto::sign_in_place(_sign_alg, _signing_key, msg), "signing");
    }
    if (raw) {
        *raw = msg; // what the preauth hash covers
    }
    if (_encrypt) {
        msg = need(smb2::crypto::encrypt_message(_cipher, _encryption_key, _session_id, msg),
                   "encryption");
    }
    _transport->send(msg); // framed by the transport (4-byte length over TCP)
    return h.message_id;
}

bytes smb2_client::receive_frame() {
    bytes msg = _transport->receive();
    if (msg.size() >= 4 && msg[0] == 0xFD) {
        auto plain = smb2::crypto::decrypt_message(_cipher, _decryption_key, msg);
        if (!plain) {
            throw smb_error("a response failed decryption");
        }
        return std::move(*plain);
    }
    return msg;
}

response smb2_client::parse(bytes msg, bytes* raw) {
    smb2::header h;
    if (!smb2::parse_header(msg, h)) {
        throw smb_error("malformed SMB2 response");
    }
    _credits += h.credits;
    // A signed session's responses are signed too (3.2.5.1.3); check each one.
    if (_check_signatures) {
        if (!h.is_signed()) {
            throw smb_error("a response on a signed session is not signed");
        }
        if (!smb2::crypto::verify_signature(_sign_alg, _signing_key, msg)) {
            throw smb_error("a response's signature does not verify");
        }
    }
    response r;
    r.message_id = h.message_id;
    r.cmd = h.cmd;
    r.status = h.status;
    byte_reader body(byte_span(msg).subspan(smb2::header_size));
    std::optional<rdma_buffer> lent;
    if (auto it = _lent.find(h.message_id); it != _lent.end()) {
        lent = it->second;
        _lent.erase(it);
        _transport->give_back(lent->slot); // a final response: the server is done with it
    }
    if (h.cmd == command::read && h.status == status::success) {
        body.u16();
        uint8_t data_offset = body.u8();
        body.u8();
        uint32_t len = body.u32();
        uint32_t data_remaining = body.u32();
        byte_reader whole(msg);
        auto data = whole.at(data_offset, len);
        if (!whole.ok()) {
            throw smb_error("malformed READ response");
        }
        if (lent) {
            // MS-SMB2 3.3.5.12: the data went by RDMA WRITE into our buffer; DataLength
            // is 0 and DataRemaining says how much was written.
            if (len != 0 || data_remaining > lent->memory.size()) {
                throw smb_error("malformed READ response to an RDMA channel request");
            }
            r.data.assign(lent->memory.begin(), lent->memory.begin() + data_remaining);
            r.by_rdma = true;
        } else {
            r.data.assign(data.begin(), data.end());
        }
    } else if (h.cmd == command::create && h.status == status::success) {
        body.seek(64); // FileId (2.2.14)
        body.copy_to(r.fid.data(), r.fid.size());
        if (!body.ok()) {
            throw smb_error("malformed CREATE response");
        }
    } else if (h.cmd == command::write && h.status == status::success) {
        body.u16();
        body.u16();
        r.count = body.u32();
        r.by_rdma = lent.has_value();
    }
    if (raw) {
        *raw = std::move(msg);
    }
    return r;
}

response smb2_client::receive(bytes* raw_response) {
    for (;;) {
        bytes msg = receive_frame();
        smb2::header h;
        if (!smb2::parse_header(msg, h)) {
            throw smb_error("malformed SMB2 response");
        }
        if (h.is_async() && h.status == status::pending) {
            _credits += h.credits; // interim response (3.2.5.1.5)
            continue;
        }
        if (h.cmd == command::oplock_break && h.message_id == ~0ULL) {
            ++_breaks_received; // a break notification (3.2.5.19): nothing waits for it
            continue;
        }
        return parse(std::move(msg), raw_response);
    }
}

response smb2_client::call(command cmd, const bytes& body, bytes* raw_request,
                           bytes* raw_response) {
    send(cmd, body, 0, {}, raw_request);
    return receive(raw_response);
}

void smb2_client::connect(const client_config& cfg) {
    _cfg = cfg;
    if (cfg.transport == transport_kind::rdma) {
        smbd_client_settings st;
        st.slots = cfg.rdma_buffers;
        st.slot_size = cfg.rdma_buffer_size;
        st.invalidate = cfg.rdma_invalidate;
        // Inline messages (setup, small I/O, and any I/O while every buffer is lent
        // out) are reassembled up to this size (MS-SMBD MaxFragmentedSize).
        st.connection.max_fragmented_recv_size =
            std::max<uint32_t>(st.connection.max_fragmented_recv_size, cfg.rdma_buffer_size + 4096);
        _transport = std::make_unique<smbd_client_transport>(cfg.host, cfg.port, st);
    } else {
        _transport = std::make_unique<tcp_transport>(cfg.host, cfg.port);
    }
    negotiate();
    session_setup();
    tree_connect();
}

// NEGOTIATE with 3.1.1's contexts: SHA-512 preauth, AES-128-GCM/CCM, AES-GMAC/CMAC
// (MS-SMB2 2.2.3, 2.2.3.1).
void smb2_client::negotiate() {
    std::vector<uint16_t> dialects;
    for (uint16_t d :
         {smb2::dialect_210, smb2::dialect_300, smb2::dialect_302, smb2::dialect_311}) {
        if (d <= _cfg.max_dialect) {
            dialects.push_back(d);
        }
    }
    bool smb311 = _cfg.max_dialect >= smb2::dialect_311;
    byte_writer w;
    w.u16(36);
    w.u16(uint16_t(dialects.size()));
    w.u16(smb2::signing_enabled | (_cfg.sign ? smb2::signing_required : 0));
    w.u16(0);
    w.u32(smb2::cap_large_mtu | smb2::cap_encryption);
    std::array<uint8_t, 16> guid;
    auth::random_bytes(guid);
    w.put(guid);
    size_t ctx_offset_at = w.reserve(4);
    w.u16(smb311 ? 3 : 0);
    w.u16(0);
    for (uint16_t d : dialects) {
        w.u16(d);
    }
    if (smb311) {
        w.align(8);
        w.patch_u32(ctx_offset_at, uint32_t(smb2::header_size + w.size()));
        std::array<uint8_t, 32> salt;
        auth::random_bytes(salt);
        w.u16(smb2::ctx_preauth_integrity);
        w.u16(38);
        w.u32(0);
        w.u16(1);
        w.u16(32);
        w.u16(smb2::hash_sha512);
        w.put(salt);
        w.align(8);
        w.u16(smb2::ctx_encryption);
        w.u16(6);
        w.u32(0);
        w.u16(2);
        w.u16(uint16_t(smb2::cipher::aes128_gcm));
        w.u16(uint16_t(smb2::cipher::aes128_ccm));
        w.align(8);
        w.u16(smb2::ctx_signing);
        w.u16(6);
        w.u32(0);
        w.u16(2);
        w.u16(uint16_t(smb2::signing_algorithm::aes_gmac));
        w.u16(uint16_t(smb2::signing_algorithm::aes_cmac));
    }
    bytes req, resp;
    response r = call(command::negotiate, w.buffer(), &req, &resp);
    if (r.status != status::success) {
        throw smb_error("NEGOTIATE failed: " + status_text(r.status), r.status);
    }
    byte_reader rd(resp);
    rd.seek(smb2::header_size + 2);
    _server_security_mode = rd.u16();
    _dialect = rd.u16();
    uint16_t ctx_count = rd.u16();
    rd.skip(16);
    uint32_t caps = rd.u32();
    rd.u32();
    _max_read = rd.u32();
    _max_write = rd.u32();
    rd.skip(16);
    rd.u16();
    rd.u16();
    uint32_t ctx_offset = rd.u32();
    if (!rd.ok()) {
        throw smb_error("malformed NEGOTIATE response");
    }
    _large_mtu = _dialect >= smb2::dialect_210 && (caps & smb2::cap_large_mtu);
    if (_dialect >= smb2::dialect_300 && _dialect < smb2::dialect_311) {
        _sign_alg = smb2::signing_algorithm::aes_cmac;
        if (caps & smb2::cap_encryption) {
            _cipher = smb2::cipher::aes128_ccm;
        }
    }
    if (_dialect == smb2::dialect_311) {
        _sign_alg = smb2::signing_algorithm::aes_cmac;
        rd.seek(ctx_offset);
        for (uint16_t i = 0; i < ctx_count && rd.ok(); ++i) {
            rd.seek((rd.position() + 7) & ~size_t(7));
            uint16_t type = rd.u16();
            uint16_t len = rd.u16();
            rd.u32();
            byte_reader data(rd.take(len));
            if (type == smb2::ctx_encryption) {
                data.u16();
                _cipher = smb2::cipher(data.u16());
            } else if (type == smb2::ctx_signing) {
                data.u16();
                _sign_alg = smb2::signing_algorithm(data.u16());
            }
        }
        need(smb2::crypto::preauth_update(_preauth, req) &&
                 smb2::crypto::preauth_update(_preauth, resp),
             "preauth hash");
    }
    _sign = _cfg.sign || (_server_security_mode & smb2::signing_required);
    if (_cfg.encrypt && (_dialect < smb2::dialect_300 || _cipher == smb2::cipher::none)) {
        throw smb_error("--encrypt: the server negotiated no cipher (dialect " +
                        hex_status(_dialect) + ")");
    }
}

// NTLMv2 in SPNEGO (MS-SPNG 3.1.5): negTokenInit with NEGOTIATE, then negTokenResp with
// AUTHENTICATE and the mechListMIC; keys derived as in MS-SMB2 3.2.5.3.1.
void smb2_client::session_setup() {
    auth::ntlm::client_options o;
    o.user = _cfg.user;
    o.domain = _cfg.domain;
    o.password = _cfg.password;
    auth::ntlm::client ntlm(o);
    std::vector<bytes> mechs = {
        bytes(auth::spnego::oid_ntlmssp.begin(), auth::spnego::oid_ntlmssp.end())};
    auth::spnego::neg_token_init init;
    init.mech_types = mechs;
    init.mech_token = ntlm.start();
    auto preauth = _preauth;

    auto leg = [&](const bytes& token, bytes& resp_raw) {
        byte_writer w;
        w.u16(25);
        w.u8(0);
        w.u8(uint8_t(smb2::signing_enabled | (_cfg.sign ? smb2::signing_required : 0)));
        w.u32(0);
        w.u32(0);
        w.u16(uint16_t(smb2::header_size + 24));
        w.u16(uint16_t(token.size()));
        w.u64(0);
        w.put(token);
        bytes req;
        response r = call(command::session_setup, w.buffer(), &req, &resp_raw);
        if (_dialect == smb2::dialect_311) {
            need(smb2::crypto::preauth_update(preauth, req), "preauth hash");
        }
        return r;
    };

    bytes raw;
    response r = leg(auth::spnego::encode(init), raw);
    if (r.status != status::more_processing_required) {
        throw smb_error("SESSION_SETUP failed: " + status_text(r.status), r.status);
    }
    if (_dialect == smb2::dialect_311) {
        need(smb2::crypto::preauth_update(preauth, raw), "preauth hash");
    }
    smb2::header h;
    smb2::parse_header(raw, h);
    _session_id = h.session_id;
    byte_reader rd(raw);
    rd.seek(smb2::header_size + 4);
    uint16_t off = rd.u16();
    uint16_t len = rd.u16();
    auto tok = auth::spnego::parse(rd.at(off, len));
    if (!rd.ok() || !tok || !std::holds_alternative<auth::spnego::neg_token_resp>(*tok) ||
        !std::get<auth::spnego::neg_token_resp>(*tok).response_token) {
        throw smb_error("SESSION_SETUP: the server sent no NTLMSSP CHALLENGE");
    }
    auto auth_msg = ntlm.authenticate(*std::get<auth::spnego::neg_token_resp>(*tok).response_token);
    if (!auth_msg) {
        throw smb_error("SESSION_SETUP: malformed NTLMSSP CHALLENGE");
    }
    auth::spnego::neg_token_resp resp;
    resp.response_token = *auth_msg;
    resp.mech_list_mic = ntlm.mech_list_mic(auth::spnego::encode_mech_types(mechs));
    r = leg(auth::spnego::encode(resp), raw);
    if (r.status != status::success) {
        throw smb_error("SESSION_SETUP failed: " + status_text(r.status), r.status);
    }
    rd = byte_reader(raw);
    rd.seek(smb2::header_size + 2);
    uint16_t session_flags = rd.u16();

    bytes key = ntlm.exported_key();
    key.resize(16);
    if (_dialect < smb2::dialect_300) {
        _signing_key = key;
    } else if (_dialect == smb2::dialect_311) {
        byte_span ctx(preauth.data(), preauth.size());
        size_t klen = _cipher == smb2::cipher::none ? 16 : smb2::crypto::cipher_key_size(_cipher);
        _signing_key =
            need(smb2::crypto::kdf(key, label("SMBSigningKey", 14), ctx, 16), "key derivation");
        _encryption_key =
            need(smb2::crypto::kdf(key, label("SMBC2SCipherKey", 16), ctx, klen), "key derivation");
        _decryption_key =
            need(smb2::crypto::kdf(key, label("SMBS2CCipherKey", 16), ctx, klen), "key derivation");
    } else {
        _signing_key =
            need(smb2::crypto::kdf(key, label("SMB2AESCMAC", 12), label("SmbSign", 8), 16),
                 "key derivation");
        _encryption_key =
            need(smb2::crypto::kdf(key, label("SMB2AESCCM", 11), label("ServerIn ", 10), 16),
                 "key derivation");
        _decryption_key =
            need(smb2::crypto::kdf(key, label("SMB2AESCCM", 11), label("ServerOut", 10), 16),
                 "key derivation");
    }
    _encrypt = _cfg.encrypt || (session_flags & smb2::session_flag_encrypt_data);
    _check_signatures = _sign && !_encrypt;
    _sign_tree_connect =
        _dialect == smb2::dialect_311 &&
        !(session_flags & (smb2::session_flag_is_guest | smb2::session_flag_is_null));
}

void smb2_client::tree_connect() {
    bytes path = utf16le("\\\\" + _cfg.host + "\\" + _cfg.share);
    byte_writer w;
    w.u16(9);
    w.u16(0);
    w.u16(uint16_t(smb2::header_size + 8));
    w.u16(uint16_t(path.size()));
    w.put(path);
    bytes raw;
    response r = call(command::tree_connect, w.buffer(), nullptr, &raw);
    if (r.status != status::success) {
        throw smb_error("TREE_CONNECT to " + _cfg.share + " failed: " + status_text(r.status),
                        r.status);
    }
    smb2::header h;
    smb2::parse_header(raw, h);
    _tree_id = h.tree_id;
    byte_reader rd(raw);
    rd.seek(smb2::header_size + 4);
    if (rd.u32() & smb2::shareflag_encrypt_data) {
        _encrypt = true;
    }
}

uint64_t smb2_client::send_create(const std::string& name) {
    bytes n = utf16le(name);
    byte_writer w;
    w.u16(57);
    w.u8(0);
    w.u8(_cfg.oplock_level); // RequestedOplockLevel (--oplock)
    w.u32(2);                // Impersonation
    w.u64(0);
    w.u64(0);
    w.u32(0x0012019F); // read, write, attributes, synchronize
    w.u32(0x80);       // FILE_ATTRIBUTE_NORMAL
    w.u32(7);          // share read, write, delete
    w.u32(3);          // FILE_OPEN_IF
    w.u32(0x40);       // FILE_NON_DIRECTORY_FILE
    w.u16(uint16_t(smb2::header_size + 56));
    w.u16(uint16_t(n.size()));
    w.u32(0);
    w.u32(0);
    w.put(n);
    if (n.empty()) {
        w.u8(0);
    }
    return send(command::create, w.buffer());
}

file_id smb2_client::open(const std::string& name) {
    send_create(name);
    response r = receive();
    if (r.status != status::success) {
        throw smb_error("CREATE " + name + " failed: " + status_text(r.status), r.status);
    }
    return r.fid;
}

// CLOSE (2.2.15) and FLUSH (2.2.17) share their layout: StructureSize 24, a 16-bit
// field (CLOSE's Flags: none asked), 32 reserved bits, the FileId.
uint64_t smb2_client::send_on_file(command cmd, const file_id& fid) {
    byte_writer w;
    w.u16(24);
    w.u16(0);
    w.u32(0);
    w.put(fid);
    return send(cmd, w.buffer());
}

void smb2_client::close(const file_id& fid) {
    send_close(fid);
    response r = receive();
    if (r.status != status::success) {
        throw smb_error("CLOSE failed: " + status_text(r.status), r.status);
    }
}

uint64_t smb2_client::send_read(const file_id& fid, uint64_t offset, uint32_t length) {
    byte_writer w;
    w.u16(49);
    w.u8(0x50); // Padding: data right after the response's fixed part
    w.u8(0);
    w.u32(length);
    w.u64(offset);
    w.put(fid);
    w.u32(length); // MinimumCount: a short read is an error here
    auto lent = rdma_for(length);
    if (lent) {
        // 2.2.19: Channel, RemainingBytes 0, the descriptor in the Buffer field.
        w.u32(channel_for(*lent));
        w.u32(0);
        w.u16(uint16_t(smb2::header_size + 48));
        w.u16(uint16_t(buffer_descriptor_v1_size));
        write_buffer_descriptors(w, std::span(&lent->descriptor, 1));
    } else {
        w.u32(channel_none);
        w.u32(0);
        w.u16(0);
        w.u16(0);
        w.u8(0);
    }
    uint64_t id = send(command::read, w.buffer(), length);
    if (lent) {
        _lent[id] = *lent;
        ++_rdma_ios;
    }
    return id;
}

std::optional<rdma_buffer> smb2_client::rdma_for(size_t length) {
    // Encrypted sessions keep their data in the (encrypted) messages: data moved by RDMA
    // would bypass the encryption. SMB Direct only, above the threshold, within
    // MaxReadWriteSize; _V1_INVALIDATE needs 3.0.2 (MS-SMB2 2.2.19).
    if (_encrypt || length <= _cfg.rdma_threshold || length > _transport->max_read_write_size() ||
        (_cfg.rdma_invalidate && _dialect < smb2::dialect_302)) {
        return std::nullopt;
    }
    return _transport->lend(length);
}

uint64_t smb2_client::send_write(const file_id& fid, uint64_t offset, byte_span data) {
    auto lent = rdma_for(data.size());
    byte_writer w;
    w.u16(49);
    if (lent) {
        // 2.2.21: DataOffset and Length 0, RemainingBytes the length, the descriptor in
        // the Buffer field; the server RDMA-READs the data from our buffer.
        std::copy(data.begin(), data.end(), lent->memory.begin());
        w.u16(0);
        w.u32(0);
    } else {
        w.u16(uint16_t(smb2::header_size + 48));
        w.u32(uint32_t(data.size()));
    }
    w.u64(offset);
    w.put(fid);
    if (lent) {
        w.u32(channel_for(*lent));
        w.u32(uint32_t(data.size()));
        w.u16(uint16_t(smb2::header_size + 48));
        w.u16(uint16_t(buffer_descriptor_v1_size));
        w.u32(0);
        write_buffer_descriptors(w, std::span(&lent->descriptor, 1));
        uint64_t id = send(command::write, w.buffer(), data.size());
        _lent[id] = *lent;
        ++_rdma_ios;
        return id;
    }
    w.u32(channel_none);
    w.u32(0);
    w.u16(0);
    w.u16(0);
    w.u32(0);
    return send(command::write, w.buffer(), 0, data);
}

} // namespace smbx::bench
