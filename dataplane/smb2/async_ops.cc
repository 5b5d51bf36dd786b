#include "dataplane/smb2/async_ops.hh"

#include "common/ntstatus.hh"
#include "dataplane/smb2/request.hh"

namespace smbx::smb2 {

uint64_t async_table::add(pending_request r) {
    r.async_id = _next_id++;
    uint64_t id = r.async_id;
    _pending[id] = r;
    return id;
}

pending_request* async_table::find(uint64_t async_id) {
    auto it = _pending.find(async_id);
    return it == _pending.end() ? nullptr : &it->second;
}

pending_request* async_table::find_by_message_id(uint64_t message_id) {
    for (auto& [id, r] : _pending) {
        if (r.message_id == message_id) {
            return &r;
        }
    }
    return nullptr;
}

std::vector<uint64_t> async_table::ids_of(uint64_t session_id, uint32_t tree_id) const {
    std::vector<uint64_t> out;
    for (auto& [id, r] : _pending) {
        if (r.session_id == session_id && (tree_id == 0 || r.tree_id == tree_id)) {
            out.push_back(id);
        }
    }
    return out;
}

uint64_t go_async(request& req, response& resp) {
    pending_request r;
    r.message_id = req.hdr.message_id;
    r.cmd = req.hdr.cmd;
    r.credit_charge = req.hdr.credit_charge;
    r.session_id = req.hdr.session_id;
    r.tree_id = req.hdr.tree_id;
    req.async_id = req.conn.async_ops.add(r);
    resp.status = status::pending;
    resp.body = byte_writer();
    resp.pending = true;
    return req.async_id;
}

} // namespace smbx::smb2
