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

// Whether a polling worker may run this READ: reading what the page cache holds at
// once, and deferring the rest to its asynchronous file I/O. Not with an RDMA channel
// (the transfer waits) nor on a stream (extended attributes have no asynchronous
// form). Decided from the open the request names, before any check: the checks then
// run on the worker, and no file data is read before they pass.
bool read_may_run_on_worker(connection& conn, uint64_t session_id, const read_write_request& rw);
// Whether a polling worker may run this WRITE, the same way (a write to a file in
// memory at once, others deferred): not a pipe (the RPC runs), not a stream, no RDMA
// channel.
bool write_may_run_on_worker(connection& conn, uint64_t session_id, const read_write_request& rw);

} // namespace smbx::smb2
