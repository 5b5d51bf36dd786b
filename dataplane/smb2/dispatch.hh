// The SMB2 engine's entry point: one received message (a single request, a compound
// chain, or a TRANSFORM_HEADER message) in, the bytes to send back out. Each request
// goes through the same stages (dispatch.cc): the compound walk (3.3.5.2.7), the
// request checks of 3.3.5.2.x (request_checks.hh), the command's handler, and the
// response's signature, preauth hash and encryption. A request that goes asynchronous
// (async_ops.hh) gets an interim response here and its final response later from
// complete_async(), on the connection's strand.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "dataplane/runtime/async_file_io.hh"
#include "dataplane/runtime/transport.hh"
#include "dataplane/smb2/connection.hh"
#include "dataplane/smb2/read_write.hh"

namespace smbx::smb2 {

// A READ or WRITE whose file I/O a worker runs without waiting for it: checked, not
// answered yet (start_suspended, finish_suspended).
struct suspended_request;

struct processing_result {
    std::vector<out_message> replies; // each one complete message or chain, in order
    bool disconnect = false;          // close the connection after sending the replies
    // Set when a request run on a worker deferred its file I/O: it passed its checks and
    // is not answered yet; start_suspended() runs the I/O, finish_suspended() answers.
    std::shared_ptr<suspended_request> suspended;
};

// `message` is decrypted in place; a WRITE's data is written to the file from it.
processing_result process_message(connection& conn, pool_buffer message);

// Decrypts a TRANSFORM_HEADER message in place (3.3.5.2.1.1), so that a worker can look
// at what it carries. False: drop the connection (as process_message would).
bool decrypt_in_place(connection& conn, pool_buffer& message);
// process_message for a message that decrypt_in_place() opened.
processing_result process_decrypted(connection& conn, pool_buffer message);

// Where a received message runs, decided once from the command table's placement
// column, before any check and without touching file data: a single ECHO, FLUSH, READ
// or WRITE runs on the polling worker, its file I/O asynchronous there, unless it needs
// what has no asynchronous form yet (read_may_run_on_worker, write_may_run_on_worker);
// everything else, compounds included, on the request threads. A
// single READ or WRITE is parsed here, and the engine and its handler use that parse.
struct message_plan {
    bool on_worker = false;
    bool decrypted = false; // a TRANSFORM_HEADER message decrypt_in_place() opened
    std::optional<read_write_request> read_write;
};
message_plan plan_message(connection& conn, byte_span message);
// process_message for a message plan_message() placed (`message` decrypted in place
// when plan.decrypted). On a worker (plan.on_worker), a READ whose data is not in the
// page cache, a WRITE that may wait for a device, or a FLUSH of a file comes back
// suspended: after its checks, before any answer and before its file I/O.
processing_result process_planned(connection& conn, pool_buffer message, const message_plan& plan);
// Queues a suspended request's file I/O on `io` (the worker's); `done` runs on io's
// thread when it ended, and keeps the request alive until then.
void start_suspended(suspended_request& request, async_file_io& io, std::function<void()> done);
// The response of a suspended request whose file I/O ended, signed or sealed as it
// would have been at once; nothing when its session ended meanwhile.
processing_result finish_suspended(connection& conn, suspended_request& request);

// Finishes the pending request `async_id` (3.3.4.2) with `status` and response `body`
// (empty: an ERROR body): the final response, signed or encrypted as the interim one
// was, goes to conn.outbox. Nothing happens if the request already ended.
void complete_async(connection& conn, uint64_t async_id, uint32_t status, const bytes& body);

// Queues on conn.outbox a message the server sends unasked: an oplock or lease break
// notification (3.3.4.6, 3.3.4.7). MessageId all ones, SessionId and TreeId 0, no
// credits, not signed (a client verifies no message with that MessageId, 3.2.5.1.3);
// encrypted with `s`'s key when `s` encrypts its messages (Session.EncryptData).
void queue_notification(connection& conn, session& s, command cmd, const bytes& body);

// The StructureSize the command table checks a request of `cmd` against (2.2.x); 0 for
// a command outside the table. For harnesses that call a handler past the engine.
uint16_t request_structure_size(command cmd);

} // namespace smbx::smb2
