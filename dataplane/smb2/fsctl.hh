// What the file system control handlers (fsctl_*.cc, one file per FSCTL family) share
// with the IOCTL dispatcher (ioctl.cc): the parsed request (MS-SMB2 2.2.31), the
// response body (2.2.32) and the open an FSCTL acts on.
#pragma once

#include <cstdint>
#include <memory>

#include "dataplane/smb2/request.hh"
#include "dataplane/vfs/file_open.hh"

namespace smbx::smb2 {

struct ioctl_request {
    uint32_t ctl_code = 0;
    file_id fid;
    byte_span input;
    uint32_t max_output = 0;
    uint32_t flags = 0;
};

// The SMB2 IOCTL Response (2.2.32) carrying `output`, with whatever status `resp` has:
// some FSCTLs answer an error with data (3.3.5.15.6.2).
void write_ioctl_body(response& resp, const ioctl_request& in, byte_span output);

// The open an FSCTL acts on, or nullptr after failing the request with FILE_CLOSED (no
// such open) or INVALID_DEVICE_REQUEST (a named pipe).
std::shared_ptr<vfs::file_open> fsctl_file(request& req, response& resp, const ioctl_request& in);

// fsctl_copychunk.cc
void handle_request_resume_key(request& req, response& resp, const ioctl_request& in);
void handle_copychunk(request& req, response& resp, const ioctl_request& in);
// fsctl_sparse.cc
void handle_set_sparse(request& req, response& resp, const ioctl_request& in);
void handle_set_zero_data(request& req, response& resp, const ioctl_request& in);
void handle_file_level_trim(request& req, response& resp, const ioctl_request& in);
void handle_query_allocated_ranges(request& req, response& resp, const ioctl_request& in);
// fsctl_duplicate_extents.cc
void handle_duplicate_extents(request& req, response& resp, const ioctl_request& in);

} // namespace smbx::smb2
