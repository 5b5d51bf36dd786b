// SPNEGO tokens (RFC 4178 4.2, MS-SPNG 2.2): the negTokenInit a client opens with, the
// negTokenResp that carries the rest of the exchange, and the server's negTokenInit2.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "common/byte_codec.hh"

namespace smbx::auth::spnego {

// OID contents (no tag or length), compared byte for byte.
inline constexpr std::array<uint8_t, 6> oid_spnego = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
inline constexpr std::array<uint8_t, 10> oid_ntlmssp = {0x2b, 0x06, 0x01, 0x04, 0x01,
                                                        0x82, 0x37, 0x02, 0x02, 0x0a};
inline constexpr std::array<uint8_t, 9> oid_kerberos = {0x2a, 0x86, 0x48, 0x86, 0xf7,
                                                        0x12, 0x01, 0x02, 0x02};
inline constexpr std::array<uint8_t, 9> oid_ms_kerberos = {0x2a, 0x86, 0x48, 0x82, 0xf7,
                                                           0x12, 0x01, 0x02, 0x02};

enum class neg_state : uint8_t {
    accept_completed = 0,
    accept_incomplete = 1,
    reject = 2,
    request_mic = 3,
};

struct neg_token_init {
    std::vector<bytes> mech_types; // OID contents, in the client's order of preference
    bytes mech_types_der;          // the MechTypeList as sent: what mechListMIC signs
    std::optional<bytes> mech_token;
};

struct neg_token_resp {
    std::optional<neg_state> state;
    std::optional<bytes> supported_mech; // OID contents
    std::optional<bytes> response_token;
    std::optional<bytes> mech_list_mic;
};

using token = std::variant<neg_token_init, neg_token_resp>;

// A negTokenInit (inside the GSS-API InitialContextToken framing, or bare) or a
// negTokenResp; nullopt if the bytes are not one.
std::optional<token> parse(byte_span data);

// MechTypeList DER for a list of OID contents.
bytes encode_mech_types(const std::vector<bytes>& oids);

// A client's negTokenInit in its InitialContextToken framing (the client side, for tests).
bytes encode(const neg_token_init& init);
bytes encode(const neg_token_resp& resp);

// The server's negTokenInit2 for the SMB2 NEGOTIATE response (MS-SPNG 2.2.1, 3.2.5.2).
bytes encode_negotiate_hint();

} // namespace smbx::auth::spnego
