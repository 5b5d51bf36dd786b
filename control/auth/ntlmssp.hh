// NTLMSSP messages (MS-NLMP 2.2) and the server side of one NTLMv2 exchange (MS-NLMP
// 3.2.5, 3.3.2): NEGOTIATE in, CHALLENGE out, AUTHENTICATE verified, session key derived.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/byte_codec.hh"
#include "control/auth/authenticator.hh"
#include "control/auth/ntlm_crypto.hh"

namespace smbx::auth::ntlm {

// NegotiateFlags (MS-NLMP 2.2.2.5).
namespace flag {
constexpr uint32_t unicode = 0x00000001;
constexpr uint32_t oem = 0x00000002;
constexpr uint32_t request_target = 0x00000004;
constexpr uint32_t sign = 0x00000010;
constexpr uint32_t seal = 0x00000020;
constexpr uint32_t lm_key = 0x00000080;
constexpr uint32_t ntlm = 0x00000200;
constexpr uint32_t anonymous = 0x00000800;
constexpr uint32_t always_sign = 0x00008000;
constexpr uint32_t target_type_domain = 0x00010000;
constexpr uint32_t target_type_server = 0x00020000;
constexpr uint32_t extended_session_security = 0x00080000;
constexpr uint32_t target_info = 0x00800000;
constexpr uint32_t version = 0x02000000;
constexpr uint32_t key_128 = 0x20000000;
constexpr uint32_t key_exch = 0x40000000;
constexpr uint32_t key_56 = 0x80000000;
} // namespace flag

// AV_PAIR AvId (MS-NLMP 2.2.2.1).
enum class av_id : uint16_t {
    eol = 0,
    nb_computer_name = 1,
    nb_domain_name = 2,
    dns_computer_name = 3,
    dns_domain_name = 4,
    dns_tree_name = 5,
    flags = 6,
    timestamp = 7,
    single_host = 8,
    target_name = 9,
    channel_bindings = 10,
};
constexpr uint32_t av_flag_mic_present = 0x2; // MsvAvFlags bit: AUTHENTICATE carries a MIC

enum class message_type : uint32_t { negotiate = 1, challenge = 2, authenticate = 3 };

inline constexpr std::array<uint8_t, 8> signature = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};
constexpr size_t mic_offset = 72; // AUTHENTICATE_MESSAGE.MIC, after the Version field

// The message type of something that starts with "NTLMSSP\0", else nullopt.
std::optional<message_type> peek_type(byte_span msg);

struct av_pair {
    av_id id;
    byte_span value;
};
// AV pairs up to MsvAvEOL (or the end of the data); nullopt if one runs past the end.
std::optional<std::vector<av_pair>> parse_av_pairs(byte_span data);

struct challenge_message {
    uint32_t flags = 0;
    std::array<uint8_t, 8> server_challenge{};
    bytes target_name; // UTF-16LE (or OEM without NEGOTIATE_UNICODE)
    bytes target_info; // AV pairs
};
bytes build_negotiate(uint32_t flags); // the client's, without domain or workstation
bytes build_challenge(const challenge_message& m);
std::optional<challenge_message> parse_challenge(byte_span msg);

// AUTHENTICATE_MESSAGE fields (MS-NLMP 2.2.1.3); spans point into the message.
struct authenticate_message {
    uint32_t flags = 0;
    byte_span lm_response;
    byte_span nt_response;
    byte_span domain;
    byte_span user;
    byte_span workstation;
    byte_span encrypted_session_key;
};
std::optional<authenticate_message> parse_authenticate(byte_span msg);

// What a successful AUTHENTICATE established.
struct identity {
    std::string user;   // as the client sent it
    std::string domain; // as the client sent it
    bool guest = false;
    bool anonymous = false;
    bytes session_key;  // ExportedSessionKey; empty for guest and anonymous
    uint32_t flags = 0; // the flags both sides agreed on
};

// The server side of one NTLMSSP exchange.
class server {
public:
    server(const auth_policy& policy, const hash_lookup& lookup)
        : _policy(policy), _lookup(lookup) {}

    // NEGOTIATE -> CHALLENGE. The challenge and timestamp are random and now unless a test
    // fixes them. Returns nullopt for a malformed NEGOTIATE.
    std::optional<bytes> negotiate(byte_span msg);
    std::optional<bytes> negotiate(byte_span msg, const std::array<uint8_t, 8>& challenge,
                                   uint64_t filetime);

    // AUTHENTICATE: SUCCESS (see result()), LOGON_FAILURE or INVALID_PARAMETER.
    uint32_t authenticate(byte_span msg);
    const identity& result() const { return _result; }

    // SPNEGO's mechListMIC (MS-SPNG 3.1.5.1): the client's signature over the mechanism
    // list checks out, and the server's own.
    bool verify_client_mic(byte_span message, byte_span mic) const;
    bytes server_mic(byte_span message) const;

private:
    enum class state { initial, challenged, done };
    uint32_t verify(const authenticate_message& auth, byte_span msg);
    session_security security(session_security::direction d) const;

    const auth_policy& _policy;
    const hash_lookup& _lookup;
    state _state = state::initial;
    bytes _negotiate_msg;
    bytes _challenge_msg;
    std::array<uint8_t, 8> _challenge{};
    uint32_t _challenge_flags = 0;
    identity _result;
};

} // namespace smbx::auth::ntlm
