// The checks MS-SMB2 3.3.5.2 makes of every request before its handler runs, one
// function per section, in the order the engine's pipeline (dispatch.cc) calls them.
// Each returns what the request gets when it fails: a status, which the engine sends
// in an ERROR response (2.2.2), or the end of the connection. None reads file data:
// a handler runs only after all of them passed.
#pragma once

#include <cstdint>
#include <memory>

#include "common/ntstatus.hh"
#include "dataplane/smb2/connection.hh"
#include "dataplane/smb2/request.hh"

namespace smbx::smb2 {

// What a command needs checked before its handler runs (3.3.5.2.9, 3.3.5.2.11): a
// column of the command table.
enum needs : uint8_t { none = 0, session_needed = 1, tree_needed = 2 | 1 };

// 3.3.5.2 and 3.3.5.2.3: a request (no SERVER_TO_REDIR flag), NEGOTIATE first and only
// once, and a MessageId inside the credit window, which it consumes (CANCEL takes
// none). False: drop the connection.
bool check_message_id(connection& conn, const header& h);

// The request's StructureSize (2.2.x) against the command table's; 0 in the table:
// the handler checks it. INVALID_PARAMETER also when the message has no StructureSize.
uint32_t check_structure_size(byte_span message, uint16_t expected);

// 3.3.5.2.9: the session the request names, when the command needs one (and for an
// ECHO naming one outside encryption). `sess` is what was found, also when the check
// fails (an expired session still signs the response). A related request whose chain
// had no valid session fails with INVALID_PARAMETER (3.3.5.2.7.2).
struct session_check {
    session* sess = nullptr;
    uint32_t status = status::success;
};
session_check check_session(connection& conn, const request& req, uint8_t needs,
                            bool related_without_session);

// 3.3.5.2.1.1: a request that came encrypted for one session may not name another.
// False: drop the connection.
bool check_transform_session(const request& req, const session* sess, uint64_t transform_session);

// The session a binding SESSION_SETUP (3.3.5.5) names on another connection: its key
// verifies the request and signs the responses until the channel has its own.
std::shared_ptr<session> binding_target_of(connection& conn, const request& req,
                                           const session* sess);

// 3.3.5.2.4: the signature of a signed request, with the key of the session (or of
// the binding target); an unsigned request where the session requires signing
// (ACCESS_DENIED); a signed NEGOTIATE (INVALID_PARAMETER). Encrypted requests are
// not signed (3.3.5.2.1.1 authenticated them).
struct signature_check {
    uint32_t status = status::success;
    bool binding_verified = false; // verified with the binding target's key
};
signature_check check_signature(connection& conn, const request& req, session* sess,
                                const session* binding_target);

// 3.3.5.2.11: the tree connect the request names, when the command needs one; found,
// it is set in req.tree (and held in req.tree_ref). NETWORK_NAME_DELETED otherwise.
uint32_t check_tree(connection& conn, request& req, uint8_t needs);

// 3.3.5.2.9 and 3.3.5.2.11: a session or share that requires encryption refuses a
// request that came in the clear (ACCESS_DENIED); NEGOTIATE and SESSION_SETUP excepted.
uint32_t check_encryption(const connection& conn, const request& req);

// 3.3.5.2.5: with multi-credit (large MTU) dialects, CreditCharge must cover the
// request's payload, one credit per 64 KiB (`payload` bytes). INVALID_PARAMETER if not.
uint32_t check_credit_charge(const connection& conn, const header& h, uint32_t payload);

} // namespace smbx::smb2
