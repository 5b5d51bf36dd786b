// SMB2 READ and WRITE (MS-SMB2 2.2.19-2.2.22, 3.3.5.12, 3.3.5.13) on files and named
// pipes. File data moves between the file and pool buffers through io_uring
// (runtime/file_io.hh), on the request threads; a network worker does it itself only
// where it cannot wait: READ data in the page cache (RWF_NOWAIT), and WRITEs to files
// in memory (tmpfs). On an SMB Direct connection a READ or WRITE may name an RDMA
// channel: the data then moves by RDMA WRITE / RDMA READ between that same pool buffer
// and the client's memory, and the request thread waits for the transfer.
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
#include "dataplane/smb2/open_lookup.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/share_path.hh"
#include "dataplane/vfs/streams.hh"

namespace smbx::smb2 {

namespace {

constexpr uint8_t read_data_offset = header_size + 16; // 0x50
constexpr size_t write_fixed_end = header_size + 48;
constexpr uint32_t channel_none = 0;
constexpr uint32_t channel_rdma_v1 = 1;            // 2.2.19 Channel
constexpr uint32_t channel_rdma_v1_invalidate = 2; // 2.2.19, SMB 3.0.2 and later
constexpr size_t read_fixed_end = header_size + 48;
constexpr uint32_t writeflag_write_through = 0x00000001;
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
std::optional<std::vector<buffer_descriptor_v1>>
rdma_buffers(request& req, uint32_t channel, uint16_t info_offset, uint16_t info_length,
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

void handle_read(request& req, response& resp) {
    auto b = req.body();
    uint16_t structure_size = b.u16();
    b.u8(); // Padding
    b.u8(); // Flags
    uint32_t length = b.u32();
    uint64_t offset = b.u64();
    file_id id = vfs::read_file_id(b);
    uint32_t minimum_count = b.u32();
    uint32_t channel = b.u32();
    b.u32(); // RemainingBytes
    uint16_t info_offset = b.u16();
    uint16_t info_length = b.u16();
    if (!b.ok() || structure_size != 49) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (length > connection::max_read_size ||
        (channel != channel_none && !is_rdma_channel(channel))) {
        resp.fail(status::invalid_parameter);
        return;
    }
    std::vector<buffer_descriptor_v1> rdma_to;
    if (channel != channel_none) {
        auto list = rdma_buffers(req, channel, info_offset, info_length, read_fixed_end, length);
        if (!list) {
            resp.fail(status::invalid_parameter);
            return;
        }
        rdma_to = std::move(*list);
        invalidate_after(req, channel, rdma_to); // whatever the reply's status
    }
    auto h = open_or_fail(req, resp, id);
    if (!h) {
        return;
    }
    if (!(h->granted_access & (vfs::file_read_data | vfs::file_execute))) {
        resp.fail(status::access_denied);
        return;
    }
    auto f = vfs::as_file_open(h);
    if (h->is_pipe() && rdma_to.empty()) {
        read_pipe(static_cast<ipc_pipe::named_pipe&>(*h), length, resp);
        return;
    }
    if (!f || f->is_directory() || (!rdma_to.empty() && f->is_stream())) {
        resp.fail(status::invalid_device_request); // no RDMA for pipes and streams yet
        return;
    }
    if (offset > max_file_offset || length > max_file_offset - offset) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (uint32_t st = f->state()->locks.check_io(f.get(), offset, length, false)) {
        resp.fail(st);
        return;
    }
    if (f->is_stream()) {
        bytes data(length);
        if (uint32_t st = vfs::read_stream(f->fd(), f->stream_name(), offset, length, data)) {
            resp.fail(st);
            return;
        }
        if ((data.empty() && length > 0) || data.size() < minimum_count) {
            resp.fail(status::end_of_file);
            return;
        }
        f->position = offset + data.size();
        write_read_response(resp, data);
        return;
    }
    // The file is read straight into a pool buffer, and that buffer is what goes to the
    // wire after the response body (no copy of the data in user space). A worker may
    // have read it already, without blocking, for this very request.
    auto& pre = req.conn.prefetched;
    pool_buffer data;
    ssize_t got;
    if (pre.fd == f->fd() && pre.offset == offset && pre.length == length) {
        data = std::move(pre.data);
        got = ssize_t(data.size());
        pre.fd = -1;
    } else {
        data = pool_get(length);
        got = file_io::read(f->fd(), data, length, offset);
        if (got == -EINVAL && f->direct_io()) {
            // O_DIRECT needs block-aligned offset, length and memory: this one is not.
            counters::add(counters::data().direct_io_unaligned, 1);
            got = file_io::read(f->buffered_fd(), data, length, offset);
        } else if (got > 0 && f->direct_io()) {
            counters::add(counters::data().direct_io_bytes, uint64_t(got));
        }
    }
    if (got < 0) {
        resp.fail(vfs::errno_to_status(int(-got)));
        return;
    }
    if ((got == 0 && length > 0) || size_t(got) < minimum_count) {
        resp.fail(status::end_of_file);
        return;
    }
    data.resize(size_t(got));
    f->position = offset + size_t(got);
    if (!rdma_to.empty()) {
        // 3.3.5.12: the data goes by RDMA WRITE from the buffer the file was read
        // into; the response carries none, DataRemaining says how much was written.
        if (!req.conn.rdma->rdma_write(rdma_to, data)) {
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

namespace {

// The data goes to the file from the pool buffer it was received into. With O_DIRECT,
// what is not block aligned (a WRITE's data sits after its headers in the message, so
// its address rarely is) goes through the buffered descriptor.
ssize_t write_file(vfs::file_open& f, byte_span data, uint64_t offset) {
    ssize_t n = file_io::write(f.fd(), data, offset);
    if (n == -EINVAL && f.direct_io()) {
        counters::add(counters::data().direct_io_unaligned, 1);
        n = file_io::write(f.buffered_fd(), data, offset);
    } else if (n > 0 && f.direct_io()) {
        counters::add(counters::data().direct_io_bytes, uint64_t(n));
    }
    return n;
}

} // namespace

bool prefetch_read(connection& conn, byte_span message) {
    conn.prefetched = {};
    byte_reader b(message);
    b.seek(40); // SessionId (2.2.1.2)
    uint64_t session_id = b.u64();
    b.seek(header_size);
    uint16_t structure_size = b.u16();
    b.skip(2); // Padding, Flags
    uint32_t length = b.u32();
    uint64_t offset = b.u64();
    file_id id = vfs::read_file_id(b);
    b.u32(); // MinimumCount
    if (b.u32() != channel_none) {
        return false; // an RDMA channel: the request threads wait for the transfer
    }
    if (!b.ok() || structure_size != 49 || length == 0 || length > connection::max_read_size ||
        offset > max_file_offset) {
        return true; // answered without I/O
    }
    auto h = conn.find_open(session_id, id);
    if (!h || h->is_pipe()) {
        return true; // FILE_CLOSED, or a pipe read from memory
    }
    auto f = vfs::as_file_open(h);
    if (!f || f->is_directory()) {
        return true;
    }
    if (f->is_stream() || f->direct_io()) {
        // Stream data lives in extended attributes, and O_DIRECT always waits for the
        // device: the request threads do those.
        return false;
    }
    using reads = vfs::file_open::nowait_read;
    if (f->worker_reads() == reads::unsupported) {
        return false;
    }
    pool_buffer data = pool_get(length);
    // A memory file system never waits for a device: its plain read is what
    // RWF_NOWAIT would be, which it refuses (EOPNOTSUPP).
    ssize_t n = f->worker_reads() == reads::memory_backed
                    ? file_io::read(f->fd(), data, length, offset)
                    : file_io::read_nowait(f->fd(), data, length, offset);
    if (n == -EOPNOTSUPP) {
        f->set_worker_reads(reads::unsupported); // do not ask again for this open
    }
    if (n < 0) {
        return false; // not cached (or an error the request threads will report)
    }
    data.resize(size_t(n));
    conn.prefetched = {f->fd(), offset, length, std::move(data)};
    return true;
}

bool worker_may_write(connection& conn, byte_span message) {
    byte_reader b(message);
    b.seek(40); // SessionId (2.2.1.2)
    uint64_t session_id = b.u64();
    b.seek(header_size);
    uint16_t structure_size = b.u16();
    b.skip(2 + 4 + 8); // DataOffset, Length, Offset (2.2.21)
    file_id id = vfs::read_file_id(b);
    uint32_t channel = b.u32();
    b.skip(4 + 2 + 2); // RemainingBytes, WriteChannelInfoOffset/Length
    uint32_t flags = b.u32();
    if (!b.ok() || structure_size != 49) {
        return true; // answered without I/O
    }
    if (channel != channel_none || (flags & writeflag_write_through)) {
        return false; // waits for an RDMA transfer, or for the device
    }
    auto h = conn.find_open(session_id, id);
    if (!h) {
        return true; // FILE_CLOSED
    }
    if (h->is_pipe()) {
        return false; // a pipe write runs the RPC: the request threads do that
    }
    auto f = vfs::as_file_open(h);
    if (!f || f->is_directory()) {
        return true; // INVALID_DEVICE_REQUEST
    }
    // A write to a memory file system (tmpfs) is a copy into its pages; it never waits
    // for a device. Other file systems may, and stream data lives in xattrs.
    return !f->is_stream() && !f->direct_io() &&
           f->worker_reads() == vfs::file_open::nowait_read::memory_backed;
}

void handle_write(request& req, response& resp) {
    auto b = req.body();
    uint16_t structure_size = b.u16();
    uint16_t data_offset = b.u16();
    uint32_t length = b.u32();
    uint64_t offset = b.u64();
    file_id id = vfs::read_file_id(b);
    uint32_t channel = b.u32();
    uint32_t remaining_bytes = b.u32();
    uint16_t info_offset = b.u16();
    uint16_t info_length = b.u16();
    uint32_t flags = b.u32();
    if (!b.ok() || structure_size != 49) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (length > connection::max_write_size ||
        (channel != channel_none && !is_rdma_channel(channel))) {
        resp.fail(status::invalid_parameter);
        return;
    }
    std::vector<buffer_descriptor_v1> rdma_from;
    if (channel != channel_none) {
        // 3.3.5.13: with an RDMA channel the data is in the client's buffers and
        // RemainingBytes says how much of it to write; the message carries none.
        if (length != 0) {
            resp.fail(status::invalid_parameter);
            return;
        }
        length = remaining_bytes;
        auto list = rdma_buffers(req, channel, info_offset, info_length, write_fixed_end, length);
        if (!list || length > connection::max_write_size) {
            resp.fail(status::invalid_parameter);
            return;
        }
        rdma_from = std::move(*list);
        invalidate_after(req, channel, rdma_from);
    }
    byte_span data;
    if (rdma_from.empty()) {
        auto data_field = req.buffer_at(data_offset, length, write_fixed_end);
        if (!data_field) {
            resp.fail(status::invalid_parameter);
            return;
        }
        data = *data_field;
    }
    auto h = open_or_fail(req, resp, id);
    if (!h) {
        return;
    }
    if (!(h->granted_access & (vfs::file_write_data | vfs::file_append_data))) {
        resp.fail(status::access_denied);
        return;
    }
    pool_buffer rdma_data; // page aligned: O_DIRECT takes it as it is
    if (!rdma_from.empty()) {
        rdma_data = pool_get(length);
        if (!req.conn.rdma->rdma_read(std::move(rdma_from), rdma_data)) {
            resp.fail(status_connection_disconnected);
            return;
        }
        data = rdma_data.view();
    }
    if (h->is_pipe()) {
        uint32_t st = static_cast<ipc_pipe::named_pipe&>(*h).write(data);
        if (st != status::success) {
            resp.fail(st);
            return;
        }
    } else {
        auto f = vfs::as_file_open(h);
        if (!f || f->is_directory()) {
            resp.fail(status::invalid_device_request);
            return;
        }
        // An open that may only append writes at the end of file, whatever the offset
        // (the all-ones offset of 3.3.5.13 included); for others an offset past
        // INT64_MAX is invalid.
        if (!(h->granted_access & vfs::file_write_data)) {
            auto fi = f->info();
            if (!fi) {
                resp.fail(vfs::errno_to_status(errno));
                return;
            }
            offset = fi->end_of_file;
        }
        if (offset > max_file_offset || length > max_file_offset - offset ||
            (length && offset >= max_file_size)) {
            resp.fail(status::invalid_parameter);
            return;
        }
        if (length && offset + length >= max_file_size) {
            resp.fail(status::disk_full); // as NTFS: the file cannot grow that far
            return;
        }
        if (uint32_t st = f->state()->locks.check_io(f.get(), offset, length, true)) {
            resp.fail(st);
            return;
        }
        if (f->is_stream()) {
            if (uint32_t st = vfs::write_stream(f->fd(), f->stream_name(), offset, data)) {
                resp.fail(st);
                return;
            }
        } else if (ssize_t n = write_file(*f, data, offset); n < 0) {
            resp.fail(vfs::errno_to_status(int(-n)));
            return;
        }
        if ((flags & writeflag_write_through) && !f->is_stream() && ::fdatasync(f->fd()) != 0) {
            resp.fail(vfs::errno_to_status(errno));
            return;
        }
        f->position = offset + length;
    }
    auto& w = resp.body;
    w.u16(17);
    w.u16(0); // Reserved
    w.u32(length);
    w.u32(0); // Remaining
    w.u16(0); // WriteChannelInfoOffset
    w.u16(0); // WriteChannelInfoLength
}

} // namespace smbx::smb2
