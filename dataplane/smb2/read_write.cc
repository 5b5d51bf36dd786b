// SMB2 READ and WRITE (MS-SMB2 2.2.19-2.2.22, 3.3.5.12, 3.3.5.13) on files and named
// pipes. File data moves between the file and pool buffers through io_uring. On the
// network worker that owns the connection, nothing waits: READ data the page cache
// holds is read at once (RWF_NOWAIT), a WRITE to a file in memory (tmpfs) is written at
// once, and every other file read or write (other file systems, `direct io`, the flush
// of a write-through) is deferred to the worker's asynchronous file I/O
// (deferred_file_io.hh), the request finished in its completion. Either way the engine
// has run the request's checks first, and the file is touched only after the
// handler's own (open, access, range, locks) passed. Off the worker (a compound, a
// stream, an RDMA channel) the request thread waits for its I/O. On an SMB Direct
// connection a READ or WRITE may name an RDMA channel: the data then moves by RDMA
// WRITE / RDMA READ between that same pool buffer and the client's memory.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

#include "common/log.hh"
#include "dataplane/rpc/named_pipe.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/runtime/file_io.hh"
#include "dataplane/runtime/transport.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/lease_router.hh"
#include "dataplane/smb2/open_lookup.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/share_path.hh"
#include "dataplane/vfs/streams.hh"

namespace smbx::smb2 {

namespace {

constexpr uint8_t read_data_offset = header_size + 16; // 0x50
constexpr size_t write_fixed_end = header_size + 48;
constexpr uint32_t channel_rdma_v1 = 1;            // 2.2.19 Channel
constexpr uint32_t channel_rdma_v1_invalidate = 2; // 2.2.19, SMB 3.0.2 and later
constexpr size_t read_fixed_end = header_size + 48;
constexpr uint32_t status_pipe_empty = 0xC00000D9;
// An RDMA transfer failed: the SMB Direct connection is going down (MS-ERREF 2.3.1).
constexpr uint32_t status_connection_disconnected = 0xC000020C;
constexpr uint64_t max_file_offset = uint64_t(std::numeric_limits<int64_t>::max());
// NTFS's MAXFILESIZE: writes starting there are invalid, writes reaching it find the
// disk full (smbtorture smb2.rw.invalid).
constexpr uint64_t max_file_size = 0xfffffff0000ULL;

// READ response (2.2.20) without its data, which follows at DataOffset.
void write_read_header(response& resp, size_t data_length) {
    auto& w = resp.body;
    w.u16(17);
    w.u8(read_data_offset);
    w.u8(0);
    w.u32(uint32_t(data_length));
    w.u32(0); // DataRemaining
    w.u32(0); // Reserved2 / Flags
}

void write_read_response(response& resp, const bytes& data) {
    write_read_header(resp, data.size());
    resp.body.put(data);
}

void read_pipe(ipc_pipe::named_pipe& pipe, uint32_t length, response& resp) {
    bytes data;
    uint32_t st = pipe.read(length, data);
    if (st != status::success && st != status::buffer_overflow) {
        resp.fail(st);
        return;
    }
    if (data.empty() && length) {
        resp.fail(status_pipe_empty); // no asynchronous pipe reads yet
        return;
    }
    write_read_response(resp, data);
    resp.status = st; // BUFFER_OVERFLOW: more of this message remains (3.3.5.12)
}

// The client buffers of a READ or WRITE with an RDMA channel (2.2.19, 2.2.21): the
// descriptor list at ChannelInfoOffset/Length, cut to the `length` bytes the request
// moves. nullopt (STATUS_INVALID_PARAMETER): not an SMB Direct connection (3.3.5.12,
// 3.3.5.13), V1_INVALIDATE below 3.0.2, a malformed or empty list, buffers smaller
// than `length`, or more than the negotiated MaxReadWriteSize.
std::optional<std::vector<buffer_descriptor_v1>> rdma_buffers(request& req, uint32_t channel,
                                                              uint16_t info_offset,
                                                              uint16_t info_length,
                                                              size_t fixed_end, uint32_t length) {
    if (!req.conn.rdma || (channel == channel_rdma_v1_invalidate && req.conn.dialect < 0x0302)) {
        return std::nullopt;
    }
    auto blob = req.buffer_at(info_offset, info_length, fixed_end);
    if (!blob) {
        return std::nullopt;
    }
    auto list = parse_buffer_descriptors(*blob);
    if (!list || length == 0 || total_length(*list) < length ||
        length > req.conn.rdma->rdma_max_read_write_size()) {
        return std::nullopt;
    }
    // Only as many buffers as `length` needs, the last one cut to what is left.
    uint32_t left = length;
    size_t used = 0;
    while (left > 0) {
        auto& d = (*list)[used++];
        d.length = std::min(d.length, left);
        left -= d.length;
    }
    list->resize(used);
    return list;
}

bool is_rdma_channel(uint32_t channel) {
    return channel == channel_rdma_v1 || channel == channel_rdma_v1_invalidate;
}

// SMB2_CHANNEL_RDMA_V1_INVALIDATE: the reply invalidates the first buffer's token
// (MS-SMB2 3.3.5.12 / 3.3.5.13; the client registers one region per request), an
// error reply too: the client counts on it either way.
void invalidate_after(request& req, uint32_t channel,
                      const std::vector<buffer_descriptor_v1>& buffers) {
    if (channel == channel_rdma_v1_invalidate) {
        req.conn.rdma->rdma_invalidate_with_next_reply(buffers.front().token);
    }
}

} // namespace

namespace {

// The READ or WRITE fields the engine parsed (request::read_write), or parsed here when
// a test calls the handler directly.
std::optional<read_write_request> fields_of(const request& req, command cmd) {
    if (req.read_write) {
        return *req.read_write;
    }
    return parse_read_write(cmd, req.message);
}

// A READ of file data between its start and its completion. The read in between is
// the part that may wait for the device: a worker does it only without waiting, and
// it is where an asynchronous read would suspend the request.
struct file_read {
    std::shared_ptr<vfs::file_open> file;
    uint64_t offset = 0;
    uint32_t length = 0;
    uint32_t minimum_count = 0;
    std::vector<buffer_descriptor_v1> rdma_to;
};

// Everything of a READ before its file data (3.3.5.12): the fields, the RDMA buffers,
// the open and its access, the range and byte-range locks. True: `op` is the file
// read to do; false: the request is answered (failed, or a pipe or stream read).
bool start_read(request& req, response& resp, file_read& op) {
    auto rw = fields_of(req, command::read);
    if (!rw || rw->length > connection::max_read_size ||
        (rw->channel != channel_none && !is_rdma_channel(rw->channel))) {
        resp.fail(status::invalid_parameter);
        return false;
    }
    op.offset = rw->offset;
    op.length = rw->length;
    op.minimum_count = rw->minimum_count;
    if (rw->channel != channel_none) {
        auto list = rdma_buffers(req, rw->channel, rw->channel_info_offset, rw->channel_info_length,
                                 read_fixed_end, op.length);
        if (!list) {
            resp.fail(status::invalid_parameter);
            return false;
        }
        op.rdma_to = std::move(*list);
        invalidate_after(req, rw->channel, op.rdma_to); // whatever the reply's status
    }
    auto h = open_or_fail(req, resp, rw->id);
    if (!h) {
        return false;
    }
    if (!(h->granted_access & (vfs::file_read_data | vfs::file_execute))) {
        resp.fail(status::access_denied);
        return false;
    }
    auto f = vfs::as_file_open(h);
    if (h->is_pipe() && op.rdma_to.empty()) {
        read_pipe(static_cast<ipc_pipe::named_pipe&>(*h), op.length, resp);
        return false;
    }
    if (!f || f->is_directory() || (!op.rdma_to.empty() && f->is_stream())) {
        resp.fail(status::invalid_device_request); // no RDMA for pipes and streams yet
        return false;
    }
    if (op.offset > max_file_offset || op.length > max_file_offset - op.offset) {
        resp.fail(status::invalid_parameter);
        return false;
    }
    if (uint32_t st = f->state()->locks.check_io(f.get(), op.offset, op.length, false)) {
        resp.fail(st);
        return false;
    }
    if (f->is_stream()) {
        bytes data(op.length);
        counters::add(counters::data().smb2_read_file_reads, 1);
        if (uint32_t st = vfs::read_stream(f->fd(), f->stream_name(), op.offset, op.length, data)) {
            resp.fail(st);
            return false;
        }
        if ((data.empty() && op.length > 0) || data.size() < op.minimum_count) {
            resp.fail(status::end_of_file);
            return false;
        }
        f->position = op.offset + data.size();
        write_read_response(resp, data);
        return false;
    }
    op.file = std::move(f);
    return true;
}

// The file read on a worker, when it cannot wait: the bytes read or -errno; -EAGAIN
// when the page cache does not hold the data (or the file system cannot say so without
// waiting), and always for `direct io` (it waits for the device).
ssize_t read_without_waiting(file_read& op, pool_buffer& data) {
    vfs::file_open& f = *op.file;
    using reads = vfs::file_open::nowait_read;
    if (f.direct_io() || f.worker_reads() == reads::unsupported) {
        return -EAGAIN;
    }
    counters::add(counters::data().smb2_read_file_reads, 1);
    // A memory file system never waits for a device: its plain read is what RWF_NOWAIT
    // would be, which it refuses (EOPNOTSUPP).
    ssize_t n = f.worker_reads() == reads::memory_backed
                    ? file_io::read(f.fd(), data, op.length, op.offset)
                    : file_io::read_nowait(f.fd(), data, op.length, op.offset);
    if (n == -EOPNOTSUPP) {
        f.set_worker_reads(reads::unsupported); // do not ask again for this open
        return -EAGAIN;
    }
    return n;
}

// O_DIRECT takes only block-aligned offsets, lengths and memory: what the device
// refuses that way (EINVAL) goes through the file's buffered descriptor instead. The
// counters say which way `direct io` data went.
bool retry_buffered(vfs::file_open& f, ssize_t result) {
    if (result == -EINVAL && f.direct_io()) {
        counters::add(counters::data().direct_io_unaligned, 1);
        return true;
    }
    if (result > 0 && f.direct_io()) {
        counters::add(counters::data().direct_io_bytes, uint64_t(result));
    }
    return false;
}

// The file read on a request thread, which may wait: the bytes read or -errno.
ssize_t read_file_data(file_read& op, pool_buffer& data) {
    vfs::file_open& f = *op.file;
    counters::add(counters::data().smb2_read_file_reads, 1);
    ssize_t got = file_io::read(f.fd(), data, op.length, op.offset);
    if (retry_buffered(f, got)) {
        got = file_io::read(f.buffered_fd(), data, op.length, op.offset);
    }
    return got;
}

// The READ response once the file read ended with `got` (bytes or -errno).
void complete_read(request& req, response& resp, file_read& op, pool_buffer data, ssize_t got) {
    if (got < 0) {
        resp.fail(vfs::errno_to_status(int(-got)));
        return;
    }
    if ((got == 0 && op.length > 0) || size_t(got) < op.minimum_count) {
        resp.fail(status::end_of_file);
        return;
    }
    data.resize(size_t(got));
    op.file->position = op.offset + size_t(got);
    if (!op.rdma_to.empty()) {
        // 3.3.5.12: the data goes by RDMA WRITE from the buffer the file was read
        // into; the response carries none, DataRemaining says how much was written.
        if (!req.conn.rdma->rdma_write(op.rdma_to, data)) {
            resp.fail(status_connection_disconnected);
            return;
        }
        auto& w = resp.body;
        w.u16(17);
        w.u8(0); // DataOffset: no data in the message
        w.u8(0);
        w.u32(0);             // DataLength
        w.u32(uint32_t(got)); // DataRemaining
        w.u32(0);             // Reserved2
        return;
    }
    write_read_header(resp, data.size());
    resp.payload = std::move(data);
}

} // namespace

namespace {

// A READ's file read on the worker's asynchronous queue; complete() is complete_read.
class deferred_read final : public deferred_file_io {
public:
    deferred_read(file_read op, pool_buffer data) : _op(std::move(op)), _data(std::move(data)) {}

    void start(async_file_io& io, std::function<void()> done) override {
        issue(io, _op.file->fd(), std::move(done));
    }
    void complete(request& req, response& resp) override {
        complete_read(req, resp, _op, std::move(_data), _got);
    }

private:
    void issue(async_file_io& io, int fd, std::function<void()> done) {
        counters::add(counters::data().smb2_read_file_reads, 1);
        io.read(fd, _data.data(), std::min<size_t>(_op.length, _data.capacity()), _op.offset,
                [this, &io, fd, done = std::move(done)](ssize_t got) mutable {
                    if (fd == _op.file->fd() && retry_buffered(*_op.file, got)) {
                        issue(io, _op.file->buffered_fd(), std::move(done));
                        return;
                    }
                    _got = got;
                    done();
                });
    }

    file_read _op;
    pool_buffer _data;
    ssize_t _got = 0;
};

} // namespace

void handle_read(request& req, response& resp) {
    file_read op;
    if (!start_read(req, resp, op)) {
        return;
    }
    // The file is read straight into a pool buffer, and that buffer is what goes to the
    // wire after the response body (no copy of the data in user space).
    pool_buffer data = pool_get(op.length);
    if (!req.on_worker) {
        ssize_t got = read_file_data(op, data);
        complete_read(req, resp, op, std::move(data), got);
        return;
    }
    ssize_t got = read_without_waiting(op, data);
    if (got == -EAGAIN) {
        resp.deferred_io = std::make_unique<deferred_read>(std::move(op), std::move(data));
        return;
    }
    complete_read(req, resp, op, std::move(data), got);
}

namespace {

// The data goes to the file from the pool buffer it was received into (a WRITE's data
// sits after its headers in the message, so its address is rarely block aligned and
// O_DIRECT takes the buffered way: retry_buffered).
ssize_t write_file(vfs::file_open& f, byte_span data, uint64_t offset) {
    ssize_t n = file_io::write(f.fd(), data, offset);
    if (retry_buffered(f, n)) {
        n = file_io::write(f.buffered_fd(), data, offset);
    }
    return n;
}

} // namespace

std::optional<read_write_request> parse_read_write(command cmd, byte_span message) {
    byte_reader b(message);
    b.seek(header_size + 2); // after StructureSize
    read_write_request rw;
    // READ (2.2.19) and WRITE (2.2.21) share the layout but for their first fields,
    // READ's MinimumCount and WRITE's trailing Flags.
    bool read = cmd == command::read;
    if (read) {
        rw.data_offset = b.u8(); // Padding
        rw.flags = b.u8();
    } else {
        rw.data_offset = b.u16();
    }
    rw.length = b.u32();
    rw.offset = b.u64();
    rw.id.persistent = b.u64();
    rw.id.volatile_id = b.u64();
    if (read) {
        rw.minimum_count = b.u32();
    }
    rw.channel = b.u32();
    rw.remaining_bytes = b.u32();
    rw.channel_info_offset = b.u16();
    rw.channel_info_length = b.u16();
    if (!read) {
        rw.flags = b.u32();
    }
    if (!b.ok()) {
        return std::nullopt;
    }
    return rw;
}

bool read_may_run_on_worker(connection& conn, uint64_t session_id, const read_write_request& rw) {
    if (rw.channel != channel_none) {
        return false; // an RDMA channel: the request threads wait for the transfer
    }
    if (rw.length == 0 || rw.length > connection::max_read_size || rw.offset > max_file_offset) {
        return true; // answered without I/O
    }
    auto f = vfs::as_file_open(conn.find_open(session_id, rw.id));
    // Stream data lives in extended attributes, which io_uring has no asynchronous
    // read of that takes an offset: the request threads read it. The rest (FILE_CLOSED,
    // a pipe read from memory, a file read from the page cache or asynchronously) here.
    return !f || !f->is_stream();
}

bool write_may_run_on_worker(connection& conn, uint64_t session_id, const read_write_request& rw) {
    if (rw.channel != channel_none) {
        return false; // waits for an RDMA transfer
    }
    auto h = conn.find_open(session_id, rw.id);
    if (!h) {
        return true; // FILE_CLOSED
    }
    if (h->is_pipe()) {
        return false; // a pipe write runs the RPC: the request threads do that
    }
    auto f = vfs::as_file_open(h);
    return !f || !f->is_stream(); // as for READ: stream data lives in xattrs
}

namespace {

// A WRITE of file data between its start and its completion, as file_read: the write
// (and the flush a write-through asks for) is the part that may wait for the device.
struct file_write {
    std::shared_ptr<vfs::file_open> file;
    uint64_t offset = 0;
    uint32_t length = 0;
    byte_span data;        // in the request's message, or in rdma_data
    pool_buffer rdma_data; // page aligned: O_DIRECT takes it as it is
    bool write_through = false;
};

// WRITE response (2.2.22).
void write_write_response(response& resp, uint32_t length) {
    auto& w = resp.body;
    w.u16(17);
    w.u16(0); // Reserved
    w.u32(length);
    w.u32(0); // Remaining
    w.u16(0); // WriteChannelInfoOffset
    w.u16(0); // WriteChannelInfoLength
}

// Everything of a WRITE before its file I/O (3.3.5.13): the fields, the data (in the
// message, or moved from the client's buffers by RDMA READ), the open and its access,
// the range and byte-range locks. True: `op` is the file write to do; false: the
// request is answered (failed, or a pipe or stream write).
bool start_write(request& req, response& resp, file_write& op) {
    auto rw = fields_of(req, command::write);
    if (!rw || rw->length > connection::max_write_size ||
        (rw->channel != channel_none && !is_rdma_channel(rw->channel))) {
        resp.fail(status::invalid_parameter);
        return false;
    }
    uint32_t length = rw->length;
    uint64_t offset = rw->offset;
    uint32_t channel = rw->channel;
    std::vector<buffer_descriptor_v1> rdma_from;
    if (channel != channel_none) {
        // 3.3.5.13: with an RDMA channel the data is in the client's buffers and
        // RemainingBytes says how much of it to write; the message carries none.
        if (length != 0) {
            resp.fail(status::invalid_parameter);
            return false;
        }
        length = rw->remaining_bytes;
        auto list = rdma_buffers(req, channel, rw->channel_info_offset, rw->channel_info_length,
                                 write_fixed_end, length);
        if (!list || length > connection::max_write_size) {
            resp.fail(status::invalid_parameter);
            return false;
        }
        rdma_from = std::move(*list);
        invalidate_after(req, channel, rdma_from);
    }
    byte_span data;
    if (rdma_from.empty()) {
        auto data_field = req.buffer_at(rw->data_offset, length, write_fixed_end);
        if (!data_field) {
            resp.fail(status::invalid_parameter);
            return false;
        }
        data = *data_field;
    }
    auto h = open_or_fail(req, resp, rw->id);
    if (!h) {
        return false;
    }
    if (!(h->granted_access & (vfs::file_write_data | vfs::file_append_data))) {
        resp.fail(status::access_denied);
        return false;
    }
    if (!rdma_from.empty()) {
        op.rdma_data = pool_get(length);
        if (!req.conn.rdma->rdma_read(std::move(rdma_from), op.rdma_data)) {
            resp.fail(status_connection_disconnected);
            return false;
        }
        data = op.rdma_data.view();
    }
    if (h->is_pipe()) {
        uint32_t st = static_cast<ipc_pipe::named_pipe&>(*h).write(data);
        if (st != status::success) {
            resp.fail(st);
            return false;
        }
        write_write_response(resp, length);
        return false;
    }
    auto f = vfs::as_file_open(h);
    if (!f || f->is_directory()) {
        resp.fail(status::invalid_device_request);
        return false;
    }
    // An open that may only append writes at the end of file, whatever the offset
    // (the all-ones offset of 3.3.5.13 included); for others an offset past INT64_MAX
    // is invalid.
    if (!(h->granted_access & vfs::file_write_data)) {
        auto fi = f->info();
        if (!fi) {
            resp.fail(vfs::errno_to_status(errno));
            return false;
        }
        offset = fi->end_of_file;
    }
    if (offset > max_file_offset || length > max_file_offset - offset ||
        (length && offset >= max_file_size)) {
        resp.fail(status::invalid_parameter);
        return false;
    }
    if (length && offset + length >= max_file_size) {
        resp.fail(status::disk_full); // as NTFS: the file cannot grow that far
        return false;
    }
    if (uint32_t st = f->state()->locks.check_io(f.get(), offset, length, true)) {
        resp.fail(st);
        return false;
    }
    tell_write(*f); // others' read caching breaks (MS-FSA 2.1.5.4 -> 2.1.4.12)
    if (f->is_stream()) {
        if (uint32_t st = vfs::write_stream(f->fd(), f->stream_name(), offset, data)) {
            resp.fail(st);
            return false;
        }
        f->position = offset + length;
        write_write_response(resp, length);
        return false;
    }
    op.file = std::move(f);
    op.offset = offset;
    op.length = length;
    op.data = data;
    op.write_through = rw->flags & writeflag_write_through;
    return true;
}

// The file write itself, and the flush a write-through asks for, on a request thread:
// 0 or -errno.
ssize_t write_file_data(file_write& op) {
    if (ssize_t n = write_file(*op.file, op.data, op.offset); n < 0) {
        return n;
    }
    if (op.write_through && ::fdatasync(op.file->fd()) != 0) {
        return -errno;
    }
    return 0;
}

// The WRITE response once the file write ended with `result` (0 or -errno).
void complete_write(response& resp, file_write& op, ssize_t result) {
    if (result < 0) {
        resp.fail(vfs::errno_to_status(int(-result)));
        return;
    }
    op.file->position = op.offset + op.length;
    write_write_response(resp, op.length);
}

// A WRITE's file write, and the flush a write-through asks for (WRITEFLAG_WRITE_THROUGH,
// 2.2.21), on the worker's asynchronous queue; complete() is complete_write. The data
// stays in the request's message, which the suspended request holds.
class deferred_write final : public deferred_file_io {
public:
    explicit deferred_write(file_write op) : _op(std::move(op)) {}

    void start(async_file_io& io, std::function<void()> done) override {
        issue(io, _op.file->fd(), std::move(done));
    }
    void complete(request&, response& resp) override { complete_write(resp, _op, _result); }

private:
    void issue(async_file_io& io, int fd, std::function<void()> done) {
        io.write(fd, _op.data.data(), _op.data.size(), _op.offset,
                 [this, &io, fd, done = std::move(done)](ssize_t n) mutable {
                     if (fd == _op.file->fd() && retry_buffered(*_op.file, n)) {
                         issue(io, _op.file->buffered_fd(), std::move(done));
                         return;
                     }
                     if (n < 0 || !_op.write_through) {
                         _result = n < 0 ? n : 0;
                         done();
                         return;
                     }
                     io.sync_data(_op.file->fd(), [this, done = std::move(done)](ssize_t r) {
                         _result = r;
                         done();
                     });
                 });
    }

    file_write _op;
    ssize_t _result = 0;
};

// Whether a worker writes this at once: a copy into the pages of a memory file system
// (tmpfs) never waits for a device. Everything else may, and is deferred.
bool writes_without_waiting(const file_write& op) {
    return op.file->worker_reads() == vfs::file_open::nowait_read::memory_backed &&
           !op.file->direct_io() && !op.write_through;
}

} // namespace

void handle_write(request& req, response& resp) {
    file_write op;
    if (!start_write(req, resp, op)) {
        return;
    }
    if (req.on_worker && !writes_without_waiting(op)) {
        resp.deferred_io = std::make_unique<deferred_write>(std::move(op));
        return;
    }
    complete_write(resp, op, write_file_data(op));
}

} // namespace smbx::smb2
