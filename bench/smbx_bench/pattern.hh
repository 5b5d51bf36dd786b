// The --verify data pattern: every 8-byte word is a function of its file offset and the
// run's seed, so any block read back can be checked without remembering what was written.
#pragma once

#include <cstdint>
#include <optional>

#include "common/byte_codec.hh"

namespace smbx::bench {

// Fills `out` with the pattern for the bytes at [offset, offset + out.size()).
void fill_pattern(std::span<uint8_t> out, uint64_t offset, uint64_t seed);
// The file offset of the first byte of `data` (read at `offset`) that differs from the
// pattern, or nullopt.
std::optional<uint64_t> find_mismatch(byte_span data, uint64_t offset, uint64_t seed);

} // namespace smbx::bench
