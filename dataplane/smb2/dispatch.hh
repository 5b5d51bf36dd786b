// The SMB2 engine's entry point: one received message (a single request, a compound
// chain, or a TRANSFORM_HEADER message) in, the bytes to send back out. It checks
// what MS-SMB2 3.3.5.2 asks of every request (credits, session, signing, encryption,
// tree connect), calls the command's handler and signs or encrypts the responses.
#pragma once

#include <vector>

#include "dataplane/smb2/connection.hh"

namespace smbx::smb2 {

struct processing_result {
    std::vector<bytes> replies; // each one complete message or chain, in order
    bool disconnect = false;    // close the connection after sending the replies
};

processing_result process_message(connection& conn, bytes message);

} // namespace smbx::smb2
