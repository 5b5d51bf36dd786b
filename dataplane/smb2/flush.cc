// SMB2 FLUSH (MS-SMB2 2.2.17, 2.2.18, 3.3.5.11): fsync of the open file; a no-op
// success on named pipes. On a worker the fsync, which waits for the device, goes to
// the worker's asynchronous file I/O and the request is answered in its completion;
// on a request thread it is called in place.
#include <cerrno>
#include <memory>
#include <unistd.h>

#include "dataplane/smb2/deferred_file_io.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/open_lookup.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/share_path.hh"

namespace smbx::smb2 {

namespace {

void write_flush_response(response& resp, ssize_t result) {
    if (result < 0) {
        resp.fail(vfs::errno_to_status(int(-result)));
        return;
    }
    resp.body.u16(4);
    resp.body.u16(0); // Reserved
}

class deferred_flush final : public deferred_file_io {
public:
    explicit deferred_flush(std::shared_ptr<vfs::file_open> file) : _file(std::move(file)) {}

    void start(async_file_io& io, std::function<void()> done) override {
        io.sync_file(_file->fd(), [this, done = std::move(done)](ssize_t r) {
            _result = r;
            done();
        });
    }
    void complete(request&, response& resp) override { write_flush_response(resp, _result); }

private:
    std::shared_ptr<vfs::file_open> _file; // keeps the descriptor open while it syncs
    ssize_t _result = 0;
};

} // namespace

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
    auto f = vfs::as_file_open(h);
    if (!f) {
        write_flush_response(resp, 0); // a pipe: nothing to flush
        return;
    }
    // 3.3.5.11: only an open that may write can flush.
    if (!(h->granted_access & (vfs::file_write_data | vfs::file_append_data))) {
        resp.fail(status::access_denied);
        return;
    }
    if (req.on_worker) {
        resp.deferred_io = std::make_unique<deferred_flush>(std::move(f));
        return;
    }
    write_flush_response(resp, ::fsync(f->fd()) != 0 ? -errno : 0);
}

} // namespace smbx::smb2
