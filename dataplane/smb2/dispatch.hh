// The SMB2 engine's entry point: one received message (a single request, a compound
// chain, or a TRANSFORM_HEADER message) in, the bytes to send back out. It checks
// what MS-SMB2 3.3.5.2 asks of every request (credits, session, signing, encryption,
// tree connect), calls the command's handler and signs or encrypts the responses.
// A request that goes asynchronous (async_ops.hh) gets an interim response here and
// its final response later from complete_async(), on the connection's strand.
#pragma once

#include <vector>

#include "dataplane/runtime/transport.hh"
#include "dataplane/smb2/connection.hh"

namespace smbx::smb2 {

struct processing_result {
    std::vector<out_message> replies; // each one complete message or chain, in order
    bool disconnect = false;          // close the connection after sending the replies
};

// `message` is decrypted in place; a WRITE's data is written to the file from it.
processing_result process_message(connection& conn, pool_buffer message);

// Decrypts a TRANSFORM_HEADER message in place (3.3.5.2.1.1), so that a worker can look
// at what it carries. False: drop the connection (as process_message would).
bool decrypt_in_place(connection& conn, pool_buffer& message);
// process_message for a message that decrypt_in_place() opened.
processing_result process_decrypted(connection& conn, pool_buffer message);

// Whether a polling worker may process `message` itself, without blocking: a single
// ECHO, a READ whose data is then already read from the page cache (RWF_NOWAIT) into
// conn.prefetched, or a WRITE to a file in memory. False: hand it to the request threads.
bool can_process_on_worker(connection& conn, byte_span message);

// Finishes the pending request `async_id` (3.3.4.2) with `status` and response `body`
// (empty: an ERROR body): the final response, signed or encrypted as the interim one
// was, goes to conn.outbox. Nothing happens if the request already ended.
void complete_async(connection& conn, uint64_t async_id, uint32_t status, const bytes& body);

} // namespace smbx::smb2
