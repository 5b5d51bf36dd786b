// Feeds arbitrary bytes to the SESSION_SETUP authenticator as a first leg, and as the
// second leg after a valid SPNEGO or raw NTLMSSP NEGOTIATE.
#include <cstddef>
#include <cstdint>

#include "common/ntstatus.hh"
#include "control/auth/authenticator.hh"
#include "control/auth/nt_hash.hh"
#include "control/auth/ntlmssp.hh"
#include "control/auth/spnego.hh"

using namespace smbx;
using namespace smbx::auth;

namespace {

const nt_hash& password_hash() {
    static const nt_hash h = compute_nt_hash("Password");
    return h;
}

std::optional<nt_hash> lookup(std::string_view user) {
    if (user == "User" || user == "alice") {
        return password_hash();
    }
    return std::nullopt;
}

constexpr uint32_t client_flags = 0xe2888235; // MS-NLMP 4.2.4's AUTHENTICATE flags

ipc::auth_reply step(authenticator& a, uint64_t id, byte_span blob) {
    ipc::auth_request req;
    req.auth_id = id;
    req.client_address = "fuzz";
    req.blob.assign(blob.begin(), blob.end());
    return a.step(req);
}

void second_leg(const auth_policy& policy, const bytes& first, byte_span data) {
    authenticator a(policy, lookup);
    auto r = step(a, 0, first);
    if (r.status != status::more_processing_required) {
        __builtin_trap(); // a valid first leg must be accepted
    }
    step(a, r.auth_id, data);
    if (a.active_exchanges() > 1) {
        __builtin_trap();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    byte_span input(data, size);
    auth_policy strict;
    auth_policy open;
    open.allow_guest = true;
    open.allow_anonymous = true;

    {
        authenticator a(strict, lookup);
        auto r = step(a, 0, input);
        if (r.status == status::more_processing_required) {
            step(a, r.auth_id, input);
        }
    }

    static const bytes raw_negotiate = ntlm::build_negotiate(client_flags);
    static const bytes spnego_negotiate = [] {
        spnego::neg_token_init init;
        init.mech_types = {bytes(spnego::oid_ntlmssp.begin(), spnego::oid_ntlmssp.end())};
        init.mech_token = raw_negotiate;
        return spnego::encode(init);
    }();
    second_leg(open, spnego_negotiate, input);
    second_leg(open, raw_negotiate, input);
    return 0;
}
