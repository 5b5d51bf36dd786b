// SMB2 FLUSH (MS-SMB2 2.2.17, 2.2.18, 3.3.5.11): fsync of the open file; a no-op
// success on named pipes.
#include <cerrno>
#include <unistd.h>

#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/open_lookup.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/share_path.hh"

namespace smbx::smb2 {

void handle_flush(request& req, response& resp) {
    auto b = req.body();
    b.u16(); // StructureSize: the command table checked it
    b.u16(); // Reserved1
    b.u32(); // Reserved2
    file_id id = vfs::read_file_id(b);
    if (!b.ok()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto h = open_or_fail(req, resp, id);
    if (!h) {
        return;
    }
    if (auto f = vfs::as_file_open(h)) {
        // 3.3.5.11: only an open that may write can flush.
        if (!(h->granted_access & (vfs::file_write_data | vfs::file_append_data))) {
            resp.fail(status::access_denied);
            return;
        }
        if (::fsync(f->fd()) != 0) {
            resp.fail(vfs::errno_to_status(errno));
            return;
        }
    }
    resp.body.u16(4);
    resp.body.u16(0); // Reserved
}

} // namespace smbx::smb2
