// SMB2 IOCTL (MS-SMB2 3.3.5.15; wire 2.2.31, 2.2.32).
#include <cstring>

#include "common/log.hh"
#include "dataplane/ipc/named_pipe.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/negotiate.hh"

namespace smbx::smb2 {

namespace {

constexpr uint32_t fsctl_dfs_get_referrals = 0x00060194;
constexpr uint32_t fsctl_dfs_get_referrals_ex = 0x000601B0;
constexpr uint32_t fsctl_pipe_transceive = 0x0011C017;
constexpr uint32_t fsctl_validate_negotiate_info = 0x00140204;
constexpr uint32_t fsctl_query_network_interface_info = 0x001401FC;
constexpr uint32_t ioctl_is_fsctl = 0x00000001;

struct ioctl_request {
    uint32_t ctl_code = 0;
    file_id fid;
    byte_span input;
    uint32_t max_output = 0;
    uint32_t flags = 0;
};

void write_body(response& resp, const ioctl_request& in, const bytes& output) {
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
    write_body(resp, in, out.buffer());
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
    write_body(resp, in, out);
}

} // namespace

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
        resp.fail(status::not_supported); // multichannel is a later issue
        return;
    default:
        resp.fail(status::invalid_device_request);
        return;
    }
}

} // namespace smbx::smb2
