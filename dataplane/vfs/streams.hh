// Alternate data streams (MS-FSCC 2.1.5.3 "file:stream:$DATA", 2.4.44
// FileStreamInformation), kept as in Samba's vfs_streams_xattr: each named stream is
// one Linux xattr "user.smbx.stream.<name>" of its base file or directory, holding the
// stream's whole contents, and goes with the inode when the file is deleted. Names
// keep the case they were created with and are looked up ignoring case. A stream holds
// at most max_stream_size bytes (the xattr value limit; ext4 keeps all of a file's
// xattrs in one block, so there the limit is lower): writing beyond is DISK_FULL.
// Every function takes a descriptor of the base file (O_PATH included).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_codec.hh"

namespace smbx::vfs {

constexpr uint64_t max_stream_size = 65536;

struct stream_entry {
    std::string name; // as stored
    uint64_t size = 0;
};

// The stored name of the stream matching `name` ignoring case; nullopt when none.
std::optional<std::string> find_stream(int fd, std::string_view name);
// The named streams of a file (not "::$DATA"), sorted by name; nullopt and errno on
// failure.
std::optional<std::vector<stream_entry>> list_streams(int fd);

// Creates an empty stream; OBJECT_NAME_COLLISION if it exists.
uint32_t create_stream(int fd, const std::string& name);
uint32_t remove_stream(int fd, const std::string& name);
// Removes every named stream (an overwrite or supersede of the file, MS-FSA
// 2.1.5.1.2.1).
void remove_streams(int fd);
// Size of a stream; nullopt if it does not exist.
std::optional<uint64_t> stream_size(int fd, const std::string& name);

// Reads up to `length` bytes at `offset` (fewer at the end of the stream).
uint32_t read_stream(int fd, const std::string& name, uint64_t offset, uint32_t length, bytes& out);
// Writes `data` at `offset`, growing the stream (zero-filled) as needed.
uint32_t write_stream(int fd, const std::string& name, uint64_t offset, byte_span data);
// Sets the end of the stream (FileEndOfFileInformation, FileAllocationInformation).
uint32_t truncate_stream(int fd, const std::string& name, uint64_t size);

} // namespace smbx::vfs
