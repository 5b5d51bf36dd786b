// SMB2 IOCTL (MS-SMB2 3.3.5.15; wire 2.2.31, 2.2.32). File system controls that act
// on an open look the open up first, so a stale or unrelated all-ones FileId gets
// STATUS_FILE_CLOSED before the control code is judged.
#include <algorithm>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.hh"
#include "dataplane/rpc/named_pipe.hh"
#include "dataplane/smb2/fsctl.hh"
#include "dataplane/smb2/fsctl_copychunk.hh"
#include "dataplane/smb2/fsctl_duplicate_extents.hh"
#include "dataplane/smb2/fsctl_sparse.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/negotiate.hh"
#include "dataplane/smb2/network_interfaces.hh"
#include "dataplane/smb2/open_lookup.hh"
#include "dataplane/vfs/access.hh"

namespace smbx::smb2 {

namespace {

constexpr uint32_t fsctl_dfs_get_referrals = 0x00060194;
constexpr uint32_t fsctl_dfs_get_referrals_ex = 0x000601B0;
constexpr uint32_t fsctl_pipe_transceive = 0x0011C017;
constexpr uint32_t fsctl_validate_negotiate_info = 0x00140204;
constexpr uint32_t fsctl_query_network_interface_info = 0x001401FC;
constexpr uint32_t fsctl_get_compression = 0x0009003C;
constexpr uint32_t fsctl_set_compression = 0x0009C040;
constexpr uint32_t fsctl_get_object_id = 0x0009009C;
constexpr uint32_t fsctl_get_reparse_point = 0x000900A8;
constexpr uint32_t fsctl_create_or_get_object_id = 0x000900C0;
constexpr uint32_t fsctl_get_integrity_information = 0x0009027C;
constexpr uint32_t fsctl_set_integrity_information = 0x0009C280;
constexpr uint32_t ioctl_is_fsctl = 0x00000001;

// FSCTL_VALIDATE_NEGOTIATE_INFO (3.3.5.15.12): the client repeats what it sent in
// NEGOTIATE; any difference means a man in the middle, and the connection goes.
void validate_negotiate(request& req, response& resp, const ioctl_request& in) {
    connection& conn = req.conn;
    if (conn.dialect == dialect_311) {
        resp.disconnect = true;
        return;
    }
    byte_reader r(in.input);
    uint32_t caps = r.u32();
    std::array<uint8_t, 16> guid{};
    r.copy_to(guid.data(), 16);
    uint16_t mode = r.u16();
    uint16_t count = r.u16();
    bool same = r.ok() && caps == conn.client_capabilities && guid == conn.client_guid &&
                mode == conn.client_security_mode && count == conn.client_dialect_count;
    for (uint16_t i = 0; same && i < count; ++i) {
        same = r.u16() == conn.client_dialects[i] && r.ok();
    }
    if (!same) {
        LOG_WARN("%s: VALIDATE_NEGOTIATE_INFO mismatch; disconnecting",
                 conn.client_address.c_str());
        resp.disconnect = true;
        return;
    }
    if (in.max_output < 24) {
        resp.fail(status::invalid_parameter);
        return;
    }
    byte_writer out;
    out.u32(server_capabilities(conn));
    out.put(conn.settings.server_guid, 16);
    out.u16(server_security_mode(conn));
    out.u16(conn.dialect);
    write_ioctl_body(resp, in, out.buffer());
}

// FSCTL_QUERY_NETWORK_INTERFACE_INFO (3.3.5.15.11): the interfaces the server listens
// on, RDMA_CAPABLE where SMB Direct listens too. None known: not supported, as before.
void query_network_interfaces(response& resp, const ioctl_request& in) {
    const auto& list = network_interfaces();
    if (list.empty()) {
        resp.fail(status::not_supported);
        return;
    }
    bytes out = encode_network_interfaces(list);
    if (out.size() > in.max_output) {
        resp.fail(status::buffer_too_small);
        return;
    }
    write_ioctl_body(resp, in, out);
}

void pipe_transceive(request& req, response& resp, const ioctl_request& in) {
    auto open = req.find_open(in.fid);
    if (!open) {
        resp.fail(status::file_closed);
        return;
    }
    if (!open->is_pipe()) {
        resp.fail(status::invalid_device_request);
        return;
    }
    auto& pipe = static_cast<ipc_pipe::named_pipe&>(*open);
    bytes out;
    uint32_t st = pipe.transceive(in.input, in.max_output, out);
    if (st != status::success && st != status::buffer_overflow) {
        resp.fail(st);
        return;
    }
    resp.status = st;
    write_ioctl_body(resp, in, out);
}

// FSCTL_CREATE_OR_GET_OBJECT_ID / FSCTL_GET_OBJECT_ID (MS-FSCC 2.3.7, 2.3.23): a
// FILE_OBJECTID_BUFFER. We store no object ids, so the id is derived from the file's
// device and inode: stable for the file's life, unique on the volume.
void object_id(request& req, response& resp, const ioctl_request& in) {
    auto f = fsctl_file(req, resp, in);
    if (!f) {
        return;
    }
    if (in.max_output < 64) {
        resp.fail(status::invalid_parameter);
        return;
    }
    struct stat st {};
    if (fstat(f->fd(), &st) != 0) {
        resp.fail(status::invalid_handle);
        return;
    }
    byte_writer out;
    out.u64(static_cast<uint64_t>(st.st_ino)); // ObjectId
    out.u64(static_cast<uint64_t>(st.st_dev));
    out.u64(static_cast<uint64_t>(st.st_dev)); // BirthVolumeId
    out.u64(0);
    out.u64(static_cast<uint64_t>(st.st_ino)); // BirthObjectId
    out.u64(static_cast<uint64_t>(st.st_dev));
    out.zeros(16); // DomainId
    write_ioctl_body(resp, in, out.buffer());
}

// FSCTL_GET_COMPRESSION (MS-FSCC 2.3.12): nothing is compressed.
void get_compression(request& req, response& resp, const ioctl_request& in) {
    if (!fsctl_file(req, resp, in)) {
        return;
    }
    if (in.max_output < 2) {
        resp.fail(status::invalid_parameter);
        return;
    }
    byte_writer out;
    out.u16(0); // COMPRESSION_FORMAT_NONE
    write_ioctl_body(resp, in, out.buffer());
}

// FSCTL_SET_COMPRESSION (MS-FSCC 2.3): a volume without compression, as Windows
// Server 2016 answers on one: NONE succeeds, any other format is NOT_SUPPORTED
// (smbtorture smb2.ioctl.compress_notsup_set).
void set_compression(request& req, response& resp, const ioctl_request& in) {
    if (!fsctl_file(req, resp, in)) {
        return;
    }
    byte_reader r(in.input);
    uint16_t format = r.u16();
    if (!r.ok()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (format != 0) { // COMPRESSION_FORMAT_NONE
        resp.fail(status::not_supported);
        return;
    }
    write_ioctl_body(resp, in, {});
}

// FSCTL_GET_REPARSE_POINT (MS-FSCC 2.3.27): no file here is a reparse point.
void get_reparse_point(request& req, response& resp, const ioctl_request& in) {
    if (fsctl_file(req, resp, in)) {
        resp.fail(status::not_a_reparse_point);
    }
}

} // namespace

void write_ioctl_body(response& resp, const ioctl_request& in, byte_span output) {
    auto& w = resp.body;
    w.u16(49);
    w.u16(0);
    w.u32(in.ctl_code);
    w.u64(in.fid.persistent);
    w.u64(in.fid.volatile_id);
    uint32_t data_offset = static_cast<uint32_t>(header_size + 48);
    w.u32(data_offset); // InputOffset: no input echoed back
    w.u32(0);
    w.u32(data_offset);
    w.u32(static_cast<uint32_t>(output.size()));
    w.u32(0);
    w.u32(0);
    w.put(output);
}

std::shared_ptr<vfs::file_open> fsctl_file(request& req, response& resp, const ioctl_request& in) {
    auto h = find_request_open(req, in.fid);
    auto f = vfs::as_file_open(h);
    if (!f) {
        resp.fail(h ? status::invalid_device_request : status::file_closed);
    }
    return f;
}

void handle_ioctl(request& req, response& resp) {
    byte_reader r = req.body();
    ioctl_request in;
    r.skip(4);
    in.ctl_code = r.u32();
    in.fid.persistent = r.u64();
    in.fid.volatile_id = r.u64();
    uint32_t input_offset = r.u32();
    uint32_t input_count = r.u32();
    r.skip(4); // MaxInputResponse
    r.skip(8); // OutputOffset, OutputCount
    in.max_output = r.u32();
    in.flags = r.u32();
    byte_reader whole(req.message);
    in.input = input_count ? whole.at(input_offset, input_count) : byte_span{};
    if (!r.ok() || !whole.ok()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (!(in.flags & ioctl_is_fsctl)) {
        resp.fail(status::not_supported); // plain IOCTLs are not passed through (3.3.5.15)
        return;
    }
    if (in.max_output > connection::max_transact_size) {
        resp.fail(status::invalid_parameter);
        return;
    }
    switch (in.ctl_code) {
    case fsctl_validate_negotiate_info:
        validate_negotiate(req, resp, in);
        return;
    case fsctl_pipe_transceive:
        pipe_transceive(req, resp, in);
        return;
    case fsctl_dfs_get_referrals:
    case fsctl_dfs_get_referrals_ex:
        resp.fail(status::fs_driver_required); // no DFS (3.3.5.15.2)
        return;
    case fsctl_query_network_interface_info:
        query_network_interfaces(resp, in);
        return;
    case fsctl_create_or_get_object_id:
    case fsctl_get_object_id:
        object_id(req, resp, in);
        return;
    case fsctl_get_compression:
        get_compression(req, resp, in);
        return;
    case fsctl_set_compression:
        set_compression(req, resp, in);
        return;
    case fsctl_get_reparse_point:
        get_reparse_point(req, resp, in);
        return;
    case fsctl_query_allocated_ranges:
        handle_query_allocated_ranges(req, resp, in);
        return;
    case fsctl_srv_request_resume_key:
        handle_request_resume_key(req, resp, in);
        return;
    case fsctl_srv_copychunk:
    case fsctl_srv_copychunk_write:
        handle_copychunk(req, resp, in);
        return;
    case fsctl_set_sparse:
        handle_set_sparse(req, resp, in);
        return;
    case fsctl_set_zero_data:
        handle_set_zero_data(req, resp, in);
        return;
    case fsctl_file_level_trim:
        handle_file_level_trim(req, resp, in);
        return;
    case fsctl_duplicate_extents_to_file:
        handle_duplicate_extents(req, resp, in);
        return;
    case fsctl_get_integrity_information:
    case fsctl_set_integrity_information:
        // No integrity streams on these file systems: INVALID_DEVICE_REQUEST, as MS-FSA
        // 2.1.5.10.10 answers for an object store without them (MS-FSCC 2.3.74), on a
        // handle that must still be open.
        if (fsctl_file(req, resp, in)) {
            resp.fail(status::invalid_device_request);
        }
        return;
    default:
        // A control we do not implement, on a handle that must still be open.
        resp.fail(find_request_open(req, in.fid) ? status::invalid_device_request
                                                 : status::file_closed);
        return;
    }
}

} // namespace smbx::smb2
