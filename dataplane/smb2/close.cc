// SMB2 CLOSE (MS-SMB2 2.2.15, 2.2.16, 3.3.5.10). With SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB
// the response carries the file's attributes as of the close. Releasing the open
// (share mode, byte-range locks, delete-on-close) is the open's destructor.
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/open_lookup.hh"

namespace smbx::smb2 {

namespace {
constexpr uint16_t close_flag_postquery_attrib = 0x0001;
}

void handle_close(request& req, response& resp) {
    auto b = req.body();
    b.u16(); // StructureSize: the command table checked it
    uint16_t flags = b.u16();
    b.u32(); // Reserved
    file_id id = vfs::read_file_id(b);
    if (!b.ok()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto h = open_or_fail(req, resp, id);
    if (!h) {
        return;
    }
    std::optional<vfs::file_info> info;
    auto f = vfs::as_file_open(h);
    if (f && (flags & close_flag_postquery_attrib)) {
        info = f->info();
    }
    req.conn.remove_open(*req.sess, h->id);
    h.reset();
    f.reset(); // the last reference: the file is released (and maybe deleted) here

    auto& w = resp.body;
    w.u16(60);
    w.u16(info ? close_flag_postquery_attrib : 0);
    w.u32(0); // Reserved
    if (info) {
        w.u64(info->creation_time);
        w.u64(info->last_access_time);
        w.u64(info->last_write_time);
        w.u64(info->change_time);
        w.u64(info->allocation_size);
        w.u64(info->end_of_file);
        w.u32(info->attributes);
    } else {
        w.zeros(52);
    }
}

} // namespace smbx::smb2
