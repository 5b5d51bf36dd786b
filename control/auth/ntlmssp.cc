#include "control/auth/ntlmssp.hh"

#include <algorithm>
#include <chrono>

#include "common/log.hh"
#include "common/ntstatus.hh"

namespace smbx::auth::ntlm {

namespace {

bool has_signature(byte_span msg) {
    return msg.size() >= signature.size() &&
           std::equal(signature.begin(), signature.end(), msg.begin());
}

// A (Len, MaxLen, BufferOffset) field (MS-NLMP 2.2.1) naming a slice of the message. A
// zero length needs no valid offset: some clients leave garbage there.
byte_span payload_field(byte_reader& r) {
    uint16_t len = r.u16();
    r.u16();
    uint32_t offset = r.u32();
    if (!r.ok() || len == 0) {
        return {};
    }
    byte_reader whole(r.data());
    byte_span s = whole.at(offset, len);
    if (!whole.ok()) {
        r.fail();
    }
    return s;
}

void put_field(byte_writer& w, size_t len, size_t offset) {
    w.u16(uint16_t(len));
    w.u16(uint16_t(len));
    w.u32(uint32_t(offset));
}

// Version (MS-NLMP 2.2.2.10): 6.1.7600, NTLMSSP_REVISION_W2K3.
void put_version(byte_writer& w) {
    w.u8(6);
    w.u8(1);
    w.u16(7600);
    w.zeros(3);
    w.u8(0x0f);
}

void put_av(byte_writer& w, av_id id, byte_span value) {
    w.u16(uint16_t(id));
    w.u16(uint16_t(value.size()));
    w.put(value);
}

std::string upper_ascii(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](char c) { return c >= 'a' && c <= 'z' ? char(c - 0x20) : c; });
    return s;
}

// Strings are UTF-16LE with NEGOTIATE_UNICODE, else OEM: taken as Latin-1 here.
bytes wire_string(std::string_view s, bool unicode) {
    if (unicode) {
        return utf16le(s);
    }
    return bytes(s.begin(), s.end());
}

bytes to_utf16(byte_span s, bool unicode) {
    if (unicode) {
        return bytes(s.begin(), s.end());
    }
    bytes out;
    for (uint8_t c : s) {
        out.push_back(c);
        out.push_back(0);
    }
    return out;
}

std::optional<std::string> to_utf8(byte_span utf16) {
    std::string out;
    if (!utf16le_to_utf8(utf16, out)) {
        return std::nullopt;
    }
    return out;
}

uint64_t filetime_now() {
    // 100 ns ticks since 1601-01-01 (MS-DTYP 2.3.3).
    using namespace std::chrono;
    auto since_unix = duration_cast<nanoseconds>(system_clock::now().time_since_epoch());
    return uint64_t(since_unix.count() / 100) + 116444736000000000ull;
}

bytes target_info(const auth_policy& p, uint64_t filetime) {
    // MS-NLMP 3.2.5.1.1: names, timestamp (NTLMv2 clients then send a MIC), EOL.
    std::string dns_domain = p.dns_name;
    if (auto dot = p.dns_name.find('.'); dot != std::string::npos) {
        dns_domain = p.dns_name.substr(dot + 1);
    }
    byte_writer w;
    put_av(w, av_id::nb_domain_name, utf16le(upper_ascii(p.domain)));
    put_av(w, av_id::nb_computer_name, utf16le(upper_ascii(p.netbios_name)));
    put_av(w, av_id::dns_domain_name, utf16le(dns_domain));
    put_av(w, av_id::dns_computer_name, utf16le(p.dns_name));
    uint8_t ts[8];
    for (int i = 0; i < 8; ++i) {
        ts[i] = uint8_t(filetime >> (8 * i));
    }
    put_av(w, av_id::timestamp, byte_span(ts, 8));
    put_av(w, av_id::eol, {});
    return w.take();
}

} // namespace

std::optional<message_type> peek_type(byte_span msg) {
    if (!has_signature(msg)) {
        return std::nullopt;
    }
    byte_reader r(msg);
    r.skip(signature.size());
    uint32_t type = r.u32();
    if (!r.ok()) {
        return std::nullopt;
    }
    return message_type(type);
}

std::optional<std::vector<av_pair>> parse_av_pairs(byte_span data) {
    std::vector<av_pair> pairs;
    byte_reader r(data);
    while (r.remaining() > 0) {
        auto id = av_id(r.u16());
        uint16_t len = r.u16();
        byte_span value = r.take(len);
        if (!r.ok()) {
            return std::nullopt;
        }
        if (id == av_id::eol) {
            break;
        }
        pairs.push_back({id, value});
    }
    return pairs;
}

bytes build_negotiate(uint32_t flags) {
    byte_writer w;
    w.put(signature.data(), signature.size());
    w.u32(uint32_t(message_type::negotiate));
    w.u32(flags);
    put_field(w, 0, 40); // DomainNameFields
    put_field(w, 0, 40); // WorkstationFields
    put_version(w);
    return w.take();
}

bytes build_challenge(const challenge_message& m) {
    // Fixed part of 56 bytes (MS-NLMP 2.2.1.2), then TargetName and TargetInfo.
    constexpr size_t header = 56;
    byte_writer w;
    w.put(signature.data(), signature.size());
    w.u32(uint32_t(message_type::challenge));
    put_field(w, m.target_name.size(), header);
    w.u32(m.flags);
    w.put(m.server_challenge.data(), m.server_challenge.size());
    w.zeros(8);
    put_field(w, m.target_info.size(), header + m.target_name.size());
    put_version(w);
    w.put(m.target_name);
    w.put(m.target_info);
    return w.take();
}

std::optional<challenge_message> parse_challenge(byte_span msg) {
    if (peek_type(msg) != message_type::challenge) {
        return std::nullopt;
    }
    byte_reader r(msg);
    r.skip(12);
    challenge_message m;
    byte_span name = payload_field(r);
    m.flags = r.u32();
    r.copy_to(m.server_challenge.data(), 8);
    r.skip(8);
    byte_span info = payload_field(r);
    if (!r.ok()) {
        return std::nullopt;
    }
    m.target_name.assign(name.begin(), name.end());
    m.target_info.assign(info.begin(), info.end());
    return m;
}

std::optional<authenticate_message> parse_authenticate(byte_span msg) {
    // The fixed part is 64 bytes up to NegotiateFlags; Version and MIC may follow.
    if (peek_type(msg) != message_type::authenticate || msg.size() < 64) {
        return std::nullopt;
    }
    byte_reader r(msg);
    r.skip(12);
    authenticate_message m;
    m.lm_response = payload_field(r);
    m.nt_response = payload_field(r);
    m.domain = payload_field(r);
    m.user = payload_field(r);
    m.workstation = payload_field(r);
    m.encrypted_session_key = payload_field(r);
    m.flags = r.u32();
    if (!r.ok()) {
        return std::nullopt;
    }
    return m;
}

std::optional<bytes> server::negotiate(byte_span msg) {
    std::array<uint8_t, 8> challenge;
    random_bytes(challenge);
    return negotiate(msg, challenge, filetime_now());
}

std::optional<bytes> server::negotiate(byte_span msg, const std::array<uint8_t, 8>& challenge,
                                       uint64_t filetime) {
    if (_state != state::initial || peek_type(msg) != message_type::negotiate || msg.size() < 16) {
        return std::nullopt;
    }
    byte_reader r(msg);
    r.skip(12);
    uint32_t client = r.u32();
    // MS-NLMP 3.2.5.1.1: answer with what the client asked for and we support; NTLM and
    // TargetInfo always, since only NTLMv2 is accepted.
    uint32_t f = flag::ntlm | flag::target_info | flag::target_type_server;
    f |= (client & flag::unicode) || !(client & flag::oem) ? flag::unicode : flag::oem;
    f |= client & (flag::request_target | flag::sign | flag::seal | flag::always_sign |
                   flag::extended_session_security | flag::version | flag::key_128 |
                   flag::key_exch | flag::key_56);

    challenge_message m;
    m.flags = f;
    m.server_challenge = challenge;
    m.target_name = wire_string(upper_ascii(_policy.netbios_name), f & flag::unicode);
    m.target_info = target_info(_policy, filetime);

    _negotiate_msg.assign(msg.begin(), msg.end());
    _challenge_msg = build_challenge(m);
    _challenge = challenge;
    _challenge_flags = f;
    _state = state::challenged;
    return _challenge_msg;
}

uint32_t server::authenticate(byte_span msg) {
    if (_state != state::challenged) {
        return status::logon_failure;
    }
    _state = state::done;
    auto auth = parse_authenticate(msg);
    if (!auth) {
        return status::invalid_parameter;
    }
    uint32_t result = verify(*auth, msg);
    if (result != status::success) {
        _result = identity{};
    }
    return result;
}

uint32_t server::verify(const authenticate_message& auth, byte_span msg) {
    // The flags in force are those offered in CHALLENGE that the client kept (3.2.5.1.2).
    uint32_t flags = auth.flags ? (_challenge_flags & auth.flags) : _challenge_flags;
    bool unicode = flags & flag::unicode;
    bytes user16 = to_utf16(auth.user, unicode);
    bytes domain16 = to_utf16(auth.domain, unicode);
    auto user = to_utf8(user16);
    auto domain = to_utf8(domain16);
    if (!user || !domain) {
        return status::invalid_parameter;
    }
    _result.user = *user;
    _result.domain = *domain;
    _result.flags = flags;

    // Anonymous: no user, no NT response, LM response empty or Z(1) (MS-NLMP 3.2.5.1.2).
    bool lm_empty =
        auth.lm_response.empty() || (auth.lm_response.size() == 1 && auth.lm_response[0] == 0);
    if (user->empty() && auth.nt_response.empty() && lm_empty) {
        if (!_policy.allow_anonymous) {
            LOG_INFO("ntlmssp: anonymous logon refused");
            return status::logon_failure;
        }
        _result.anonymous = true;
        return status::success;
    }

    // NTLMv2 only: an NTLMv2_RESPONSE is a 16-byte NTProofStr and a client challenge of at
    // least 28 bytes (MS-NLMP 2.2.2.8, 2.2.2.7). 24 bytes is NTLMv1 (or LM only).
    constexpr size_t proof_len = 16, blob_header = 28;
    if (auth.nt_response.size() < proof_len + blob_header) {
        LOG_INFO("ntlmssp: refusing non-NTLMv2 response from '%s'", user->c_str());
        return status::logon_failure;
    }
    byte_span proof = auth.nt_response.first(proof_len);
    byte_span blob = auth.nt_response.subspan(proof_len);
    auto client_av = parse_av_pairs(blob.subspan(blob_header));
    if (!client_av) {
        return status::invalid_parameter;
    }

    auto hash = _lookup(*user);
    if (!hash) {
        if (_policy.allow_guest) {
            LOG_INFO("ntlmssp: unknown user '%s' mapped to guest", user->c_str());
            _result.guest = true;
            return status::success;
        }
        LOG_INFO("ntlmssp: unknown user '%s'", user->c_str());
        return status::logon_failure;
    }

    // Clients differ in the domain they hash: try the one sent, then none (3.3.2).
    std::optional<md5_digest> session_base_key;
    for (byte_span dom : {byte_span(domain16), byte_span()}) {
        md5_digest key = ntowf_v2(*hash, user16, dom);
        md5_digest expected = hmac_md5(key, {_challenge, blob});
        if (constant_time_equal(expected, proof)) {
            session_base_key = hmac_md5(key, {proof});
            break;
        }
        if (dom.empty()) {
            break;
        }
    }
    if (!session_base_key) {
        LOG_INFO("ntlmssp: wrong password for '%s'", user->c_str());
        return status::logon_failure;
    }

    // KeyExchangeKey is the SessionBaseKey for NTLMv2 (3.4.5.1); with KEY_EXCH the client
    // chose the session key and sent it RC4-encrypted under it (3.2.5.1.2).
    bytes exported(session_base_key->begin(), session_base_key->end());
    if (flags & flag::key_exch) {
        if (auth.encrypted_session_key.size() != 16) {
            return status::invalid_parameter;
        }
        exported = rc4(*session_base_key).apply(auth.encrypted_session_key);
    }

    // MIC over all three messages when the client says it sent one (3.2.5.1.2).
    uint32_t av_flags = 0;
    for (const auto& av : *client_av) {
        if (av.id == av_id::flags && av.value.size() == 4) {
            av_flags = av.value[0] | (av.value[1] << 8) | (av.value[2] << 16) |
                       (uint32_t(av.value[3]) << 24);
        }
    }
    if (av_flags & av_flag_mic_present) {
        if (msg.size() < mic_offset + 16) {
            return status::invalid_parameter;
        }
        bytes zeroed(msg.begin(), msg.end());
        std::fill_n(zeroed.begin() + mic_offset, 16, 0);
        md5_digest mic = hmac_md5(exported, {_negotiate_msg, _challenge_msg, zeroed});
        if (!constant_time_equal(mic, msg.subspan(mic_offset, 16))) {
            LOG_INFO("ntlmssp: MIC mismatch for '%s'", user->c_str());
            return status::logon_failure;
        }
    }
    _result.session_key = std::move(exported);
    return status::success;
}

session_security server::security(session_security::direction d) const {
    using enum session_security::strength;
    auto s = (_result.flags & flag::key_128)  ? bits_128
             : (_result.flags & flag::key_56) ? bits_56
                                              : bits_40;
    return session_security(_result.session_key, d, s, _result.flags & flag::key_exch);
}

bool server::verify_client_mic(byte_span message, byte_span mic) const {
    // Only extended session security signatures (3.4.4.2) are supported.
    if (_result.session_key.empty() || !(_result.flags & flag::extended_session_security)) {
        return false;
    }
    auto sig = security(session_security::direction::client_to_server).sign(0, message);
    return constant_time_equal(sig, mic);
}

bytes server::server_mic(byte_span message) const {
    if (_result.session_key.empty() || !(_result.flags & flag::extended_session_security)) {
        return {};
    }
    auto sig = security(session_security::direction::server_to_client).sign(0, message);
    return bytes(sig.begin(), sig.end());
}

} // namespace smbx::auth::ntlm
