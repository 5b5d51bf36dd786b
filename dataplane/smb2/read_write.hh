// READ and WRITE requests (MS-SMB2 2.2.19, 2.2.21) parsed once into what the engine
// needs of them: where the request runs (the command table's placement column asks
// read_may_run_on_worker / write_may_run_on_worker), the credit charge check of
// 3.3.5.2.5, and the handler (read_write.cc) all take this one parse.
#pragma once

#include <cstdint>
#include <optional>

#include "common/byte_codec.hh"
#include "dataplane/smb2/open_handle.hh"
#include "dataplane/smb2/wire.hh"

namespace smbx::smb2 {

class connection;

struct read_write_request {
    uint64_t offset = 0;
    uint32_t length = 0;
    file_id id;
    uint32_t channel = 0;       // Channel: none, or an RDMA channel (2.2.19)
    uint32_t flags = 0;         // READ: Flags (one byte); WRITE: Flags (WRITEFLAG_*)
    uint16_t data_offset = 0;   // WRITE: DataOffset; READ: Padding (unused)
    uint32_t minimum_count = 0; // READ: MinimumCount
    uint32_t remaining_bytes = 0;
    uint16_t channel_info_offset = 0; // Read/WriteChannelInfoOffset
    uint16_t channel_info_length = 0;
};

constexpr uint32_t channel_none = 0;
constexpr uint32_t writeflag_write_through = 0x00000001;

// The fixed part of a READ or WRITE request (`cmd`) at header_size in `message`.
// nullopt when the message ends inside it; StructureSize is the command table's check.
std::optional<read_write_request> parse_read_write(command cmd, byte_span message);

// Whether a polling worker may run this READ, which it does as far as it can without
// waiting (a read the page cache cannot serve is finished on a request thread): no
// RDMA channel (the transfer waits), no stream (xattrs) and no O_DIRECT file (always
// waits for the device). Decided from the open the request names, before any check:
// the checks then run on the worker, and no file data is read before they pass.
bool read_may_run_on_worker(connection& conn, uint64_t session_id, const read_write_request& rw);
// Whether a polling worker may run this WRITE: one that cannot wait for a device (a
// file in memory, tmpfs) or fails without I/O. Not a pipe (the RPC runs), not
// write-through, no RDMA channel.
bool write_may_run_on_worker(connection& conn, uint64_t session_id, const read_write_request& rw);

} // namespace smbx::smb2
