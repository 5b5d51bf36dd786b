// SMB2 CHANGE_NOTIFY (MS-SMB2 2.2.35, 3.3.5.19). Not implemented yet: watching needs an
// asynchronous reply (inotify or fanotify feeding an async response), so after the
// request's checks the server answers STATUS_NOT_SUPPORTED at once instead of leaving
// it pending forever.
#include "dataplane/smb2/handlers.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/open_lookup.hh"

namespace smbx::smb2 {

void handle_change_notify(request& req, response& resp) {
    auto b = req.body();
    uint16_t structure_size = b.u16();
    b.u16(); // Flags (WATCH_TREE)
    uint32_t output_length = b.u32();
    file_id id = vfs::read_file_id(b);
    b.u32(); // CompletionFilter
    if (!b.ok() || structure_size != 32 || output_length > connection::max_transact_size) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto h = vfs::find_request_open(req, id);
    if (!h) {
        resp.fail(status::file_closed);
        return;
    }
    auto dir = vfs::as_file_open(h);
    if (!dir || !dir->is_directory()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (!(h->granted_access & vfs::file_read_data)) { // FILE_LIST_DIRECTORY
        resp.fail(status::access_denied);
        return;
    }
    resp.fail(status::not_supported);
}

} // namespace smbx::smb2
