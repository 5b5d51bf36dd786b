// Server side of SESSION_SETUP authentication: SPNEGO (MS-SPNG) carrying NTLMSSP
// (MS-NLMP), NTLMv2 only. One authenticator serves every exchange; each exchange is
// keyed by the auth_id it hands out in its first reply.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/ipc_messages.hh"

namespace smbx::auth {

using nt_hash = std::array<uint8_t, 16>;
// Looks a user up (case-insensitively) in the user database: the NT hash, or nullopt.
using hash_lookup = std::function<std::optional<nt_hash>(std::string_view user)>;

struct auth_policy {
    std::string netbios_name = "SMBX";    // MsvAvNbComputerName
    std::string domain = "WORKGROUP";     // MsvAvNbDomainName
    std::string dns_name = "localhost";   // MsvAvDnsComputerName
    bool allow_guest = false;     // unknown users become guest (`map to guest = bad user`)
    bool allow_anonymous = false; // empty user name and response (`restrict anonymous = 0`)
};

class exchange; // one in-progress SPNEGO/NTLMSSP exchange (authenticator.cc)

class authenticator {
public:
    authenticator(auth_policy policy, hash_lookup lookup);
    ~authenticator();

    // One SESSION_SETUP leg. req.auth_id == 0 starts an exchange. The reply carries
    // MORE_PROCESSING_REQUIRED and a token, SUCCESS with the session key and user, or
    // a failure status (LOGON_FAILURE, INVALID_PARAMETER for malformed tokens).
    ipc::auth_reply step(const ipc::auth_request& req);
    void abandon(uint64_t auth_id);
    size_t active_exchanges() const { return _exchanges.size(); }

private:
    auth_policy _policy;
    hash_lookup _lookup;
    std::map<uint64_t, std::unique_ptr<exchange>> _exchanges;
    uint64_t _next_id = 1;
};

// The SPNEGO negTokenInit2 the server puts in its NEGOTIATE response (MS-SPNG 3.2.5.2):
// advertises NTLMSSP only.
bytes spnego_negotiate_token();

} // namespace smbx::auth
