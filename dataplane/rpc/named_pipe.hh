// Named pipes on IPC$ (MS-SMB2 3.3.5.9: CREATE on a pipe share; MS-RPCE over the pipe).
// A pipe is an open: WRITE feeds it request bytes, READ takes response bytes, and
// FSCTL_PIPE_TRANSCEIVE does both in one IOCTL.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/ipc_messages.hh"
#include "dataplane/vfs/open_handle.hh"

namespace smbx::ipc_pipe {

// Fetches the share list from the control plane (blocking; executor threads only).
using share_lister = std::function<std::optional<std::vector<ipc::share_info>>()>;

class named_pipe : public vfs::open_handle {
public:
    bool is_pipe() const override { return true; }

    // Consume bytes written by the client. Returns an NT status.
    virtual uint32_t write(byte_span data) = 0;
    // Up to `max` bytes of pending output. SUCCESS when all of the pending message
    // was returned, BUFFER_OVERFLOW when more of it remains (MS-SMB2 3.3.5.12),
    // PIPE_EMPTY-like behaviour is the caller's: `out` empty and SUCCESS means nothing
    // is pending.
    virtual uint32_t read(uint32_t max, bytes& out) = 0;
    // FSCTL_PIPE_TRANSCEIVE (MS-FSCC 2.3.49): write, then read up to max_out.
    uint32_t transceive(byte_span in, uint32_t max_out, bytes& out) {
        uint32_t st = write(in);
        if (st != 0) {
            return st;
        }
        return read(max_out, out);
    }
};

// Opens a pipe by name ("srvsvc", case-insensitive, with or without a leading
// "\\PIPE\\"); nullptr when the server has no such pipe.
std::shared_ptr<named_pipe> open_named_pipe(std::string_view name, share_lister lister,
                                            std::string_view server_name);

} // namespace smbx::ipc_pipe
