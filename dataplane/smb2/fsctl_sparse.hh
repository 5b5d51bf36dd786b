// Sparse files, zeroing and allocated ranges (MS-FSCC 2.3.64 FSCTL_SET_SPARSE, 2.3.67
// FSCTL_SET_ZERO_DATA, 2.3.14 FSCTL_FILE_LEVEL_TRIM, 2.3.41 FSCTL_QUERY_ALLOCATED_RANGES;
// MS-FSA 2.1.5.10): the input parsers, apart so that unit tests and the fuzz target
// reach them, and the constants the dispatcher (ioctl.cc) switches on.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/byte_codec.hh"

namespace smbx::smb2 {

constexpr uint32_t fsctl_set_sparse = 0x000900C4;
constexpr uint32_t fsctl_set_zero_data = 0x000980C8;
constexpr uint32_t fsctl_file_level_trim = 0x00098208;
constexpr uint32_t fsctl_query_allocated_ranges = 0x000940CF;

struct file_range {
    uint64_t offset = 0;
    uint64_t length = 0;
};

// FILE_SET_SPARSE_BUFFER (2.3.64): no input means "set"; else its first byte, any
// non-zero value being TRUE.
bool parse_set_sparse(byte_span input);

// FILE_ZERO_DATA_INFORMATION (2.3.67: FileOffset, BeyondFinalZero) as a range; nullopt
// (INVALID_PARAMETER, MS-FSA 2.1.5.10 FSCTL_SET_ZERO_DATA) when shorter than 16 bytes, either value
// is negative, or FileOffset is beyond BeyondFinalZero.
std::optional<file_range> parse_zero_data(byte_span input);

// FILE_LEVEL_TRIM (2.3.14: Key, NumRanges, FILE_LEVEL_TRIM_RANGE[]); nullopt
// (INVALID_PARAMETER) when the input is shorter than its NumRanges ranges or a range
// runs past INT64_MAX.
std::optional<std::vector<file_range>> parse_file_level_trim(byte_span input);

// FILE_ALLOCATED_RANGE_BUFFER (2.3.41: FileOffset, Length); nullopt (INVALID_PARAMETER)
// when shorter than 16 bytes, negative, or running past INT64_MAX.
std::optional<file_range> parse_allocated_range(byte_span input);

} // namespace smbx::smb2
