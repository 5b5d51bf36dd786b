// Asynchronous requests (MS-SMB2 3.3.4.2, 3.3.5.16; AsyncId in the header, 2.2.1.1).
// A handler that cannot answer at once calls go_async(): the engine sends an interim
// STATUS_PENDING response carrying a new AsyncId and keeps the request here until
// complete_async() (dispatch.hh) sends the final response with the same AsyncId, or
// CANCEL, CLOSE, LOGOFF, TREE_DISCONNECT or the end of the connection ends it.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "dataplane/smb2/wire.hh"

namespace smbx::smb2 {

struct request;
struct response;

struct pending_request {
    uint64_t async_id = 0;
    uint64_t message_id = 0;
    command cmd = command::negotiate;
    uint16_t credit_charge = 0;
    uint64_t session_id = 0;
    uint32_t tree_id = 0;
    bool sign = false;    // the interim response was signed, so is the final one
    bool encrypt = false; // the request came encrypted, so does the final response
};

class async_table {
public:
    // Registers a request and returns its new AsyncId (never 0).
    uint64_t add(pending_request r);
    pending_request* find(uint64_t async_id);
    // The pending request a sync-form CANCEL names by its MessageId (3.3.5.16).
    pending_request* find_by_message_id(uint64_t message_id);
    void remove(uint64_t async_id) { _pending.erase(async_id); }
    // AsyncIds of a session's requests (of one tree when tree_id != 0).
    std::vector<uint64_t> ids_of(uint64_t session_id, uint32_t tree_id) const;
    size_t size() const { return _pending.size(); }

private:
    std::map<uint64_t, pending_request> _pending;
    uint64_t _next_id = 1;
};

// Called by a handler instead of writing a response: the request goes asynchronous.
// Only the last request of a compound chain may (req.last_in_chain, MS-SMB2
// 3.3.5.2.7); the caller checks that first. Returns the AsyncId.
uint64_t go_async(request& req, response& resp);

} // namespace smbx::smb2
