// Server-side copy (MS-SMB2 3.3.5.15.5, 3.3.5.15.6): FSCTL_SRV_REQUEST_RESUME_KEY hands
// out a key naming a source open; FSCTL_SRV_COPYCHUNK(_WRITE) on the target open copies
// chunks of the source to it inside the server (vfs/file_copy.hh). The wire forms and
// the limits live here so that unit tests and the fuzz target reach them directly.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/byte_codec.hh"
#include "dataplane/smb2/open_handle.hh"

namespace smbx::smb2 {

constexpr uint32_t fsctl_srv_request_resume_key = 0x00140078;
constexpr uint32_t fsctl_srv_copychunk = 0x001440F2;
constexpr uint32_t fsctl_srv_copychunk_write = 0x001480F2;

// The server's limits (3.3.5.15.6: ServerSideCopyMaxNumberofChunks,
// ServerSideCopyMaxChunkSize, ServerSideCopyMaxDataSize), Windows Server's values
// (MS-SMB2 <373>): 256 chunks, 1 MiB a chunk, 16 MiB a request.
constexpr uint32_t copychunk_max_chunks = 256;
constexpr uint32_t copychunk_max_chunk_size = 1 << 20;
constexpr uint32_t copychunk_max_data_size = 16 << 20;

constexpr size_t resume_key_size = 24;
using resume_key = std::array<uint8_t, resume_key_size>;

// SRV_COPYCHUNK (2.2.31.1.1)
struct copychunk_chunk {
    uint64_t source_offset = 0;
    uint64_t target_offset = 0;
    uint32_t length = 0;
};

// SRV_COPYCHUNK_COPY (2.2.31.1)
struct copychunk_copy {
    resume_key source_key{};
    std::vector<copychunk_chunk> chunks;
};

// Parses SRV_COPYCHUNK_COPY; nullopt when the server must answer with its limits
// (3.3.5.15.6.2): input shorter than the header or its ChunkCount chunks, more chunks
// than the limit, a chunk of length 0 or above the chunk limit, more data in all than
// the data limit. An offset beyond INT64_MAX (which no file reaches) is refused the
// same way.
std::optional<copychunk_copy> parse_copychunk_copy(byte_span input);

// SRV_COPYCHUNK_RESPONSE (2.2.32.1): 12 bytes.
constexpr size_t copychunk_response_size = 12;
bytes encode_copychunk_response(uint32_t chunks_written, uint32_t chunk_bytes_written,
                                uint32_t total_bytes_written);

// A resume key names one open of one session: its FileId and a tag, a keyed hash (with
// a secret drawn when the process starts) of the session id and the FileId. A key is
// worth nothing outside the session it was given to, and cannot be made up from a
// FileId seen elsewhere.
resume_key make_resume_key(uint64_t session_id, const file_id& fid);
// The FileId a key names when it was made for `session_id`; nullopt otherwise.
std::optional<file_id> resume_key_open(const resume_key& key, uint64_t session_id);

} // namespace smbx::smb2
