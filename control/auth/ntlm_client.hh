// The client side of one NTLMv2 exchange (MS-NLMP 3.1.5): NEGOTIATE out, CHALLENGE in,
// AUTHENTICATE out with KEY_EXCH and a MIC, and the SPNEGO mechListMIC (MS-SPNG 3.1.5.1).
// Used by smbx-bench and by the authenticator's tests (whose knobs make bad clients).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/byte_codec.hh"
#include "control/auth/ntlm_crypto.hh"
#include "control/auth/ntlmssp.hh"

namespace smbx::auth::ntlm {

constexpr uint32_t default_client_flags =
    flag::unicode | flag::request_target | flag::sign | flag::seal | flag::ntlm |
    flag::always_sign | flag::extended_session_security | flag::target_info | flag::version |
    flag::key_128 | flag::key_exch | flag::key_56;

struct client_options {
    std::string user;
    std::string domain = "WORKGROUP";
    std::string password;
    std::optional<std::string> ntowf_domain; // the domain hashed, if not `domain`
    uint32_t flags = default_client_flags;
    bool mic = true;
    // Knobs for tests that need a misbehaving client.
    bool ntlmv1 = false; // a 24-byte NtChallengeResponse
    bool corrupt_mic = false;
    bool anonymous = false;
};

class client {
public:
    client() = default;
    explicit client(client_options o) : opt(std::move(o)) {}

    client_options opt;

    // The NEGOTIATE_MESSAGE (kept for the MIC).
    bytes start();
    // The AUTHENTICATE_MESSAGE for the server's CHALLENGE; nullopt if it is malformed.
    std::optional<bytes> authenticate(byte_span challenge_msg);

    const bytes& negotiate() const { return _negotiate; }
    const bytes& exported_key() const { return _exported_key; }
    const bytes& session_base_key() const { return _session_base_key; }

    session_security security(session_security::direction d) const;
    // The client's mechListMIC over the DER MechTypeList (sequence number 0).
    bytes mech_list_mic(byte_span mech_types_der) const;

private:
    bytes _negotiate;
    bytes _exported_key;
    bytes _session_base_key;
};

} // namespace smbx::auth::ntlm
