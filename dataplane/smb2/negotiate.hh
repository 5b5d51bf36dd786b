// NEGOTIATE helpers shared with the dispatcher (MS-SMB2 3.3.5.3, 3.3.5.4).
#pragma once

#include <optional>

#include "dataplane/smb2/connection.hh"

namespace smbx::smb2 {

// An SMB1 multi-protocol NEGOTIATE that offers "SMB 2.002" or "SMB 2.???" gets an SMB2
// NEGOTIATE response (3.3.5.3.1); anything else gets nullopt (disconnect).
std::optional<bytes> negotiate_from_smb1(connection& conn, byte_span message);

// The server's capabilities and security mode for the negotiated dialect; also what
// FSCTL_VALIDATE_NEGOTIATE_INFO must repeat (3.3.5.15.12).
uint32_t server_capabilities(const connection& conn);
uint16_t server_security_mode(const connection& conn);

} // namespace smbx::smb2
