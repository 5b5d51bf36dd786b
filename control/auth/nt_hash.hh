// The NT one-way function (MS-NLMP 3.3.1 NTOWFv1): MD4 of the UTF-16LE password.
// The user database stores this hash; NTLMv2 (NTOWFv2) is computed from it.
#pragma once

#include <string_view>

#include "control/auth/authenticator.hh"

namespace smbx::auth {

nt_hash compute_nt_hash(std::string_view password_utf8);

} // namespace smbx::auth
