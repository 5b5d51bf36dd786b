// Finding the open a request names. An open is reachable only from the session and
// tree connect that created it; anything else is STATUS_FILE_CLOSED (MS-SMB2 3.3.5.10
// and the other handlers' "If the Open is not found" rule).
#pragma once

#include <memory>

#include "common/ntstatus.hh"
#include "dataplane/smb2/open_handle.hh"
#include "dataplane/smb2/request.hh"
#include "dataplane/vfs/open_lookup.hh"

namespace smbx::smb2 {

inline std::shared_ptr<open_handle> find_request_open(const request& req, const file_id& id) {
    // The all-ones FileId means "the previous create" only in a related compound
    // (3.3.5.2.7.2); elsewhere it names no open (smbtorture smb2.compound.unrelated1).
    if (id.is_related_placeholder() && !req.hdr.is_related()) {
        return nullptr;
    }
    auto h = req.find_open(id);
    if (!h || !req.sess || !req.tree || h->session_id != req.sess->id ||
        h->tree_id != req.tree->id) {
        return nullptr;
    }
    return h;
}

// The open a request names, or nullptr after failing the request with FILE_CLOSED: the
// first step of every handler that takes a FileId.
inline std::shared_ptr<open_handle> open_or_fail(const request& req, response& resp,
                                                 const file_id& id) {
    auto h = find_request_open(req, id);
    if (!h) {
        resp.fail(status::file_closed);
    }
    return h;
}

} // namespace smbx::smb2
