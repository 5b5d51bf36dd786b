// SMB_DIRECT_BUFFER_DESCRIPTOR_V1 (MS-SMBD 2.2.3.1): a client memory region an RDMA
// transport reads from or writes to, as listed in the channel info of SMB2 READ and
// WRITE with SMB2_CHANNEL_RDMA_V1 (MS-SMB2 2.2.19, 2.2.21). Here, below both the SMB2
// engine (which parses the list) and the RDMA transport (which moves the data), so
// neither includes the other.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/byte_codec.hh"

namespace smbx {

constexpr size_t buffer_descriptor_v1_size = 16;

// token is the region's remote key (rkey).
struct buffer_descriptor_v1 {
    uint64_t offset = 0;
    uint32_t token = 0;
    uint32_t length = 0;
    bool operator==(const buffer_descriptor_v1&) const = default;
};

// A channel info blob: one or more descriptors, back to back. Empty, or a length that
// is not a multiple of 16: nullopt (the SMB2 handler answers STATUS_INVALID_PARAMETER).
std::optional<std::vector<buffer_descriptor_v1>> parse_buffer_descriptors(byte_span blob);
void write_buffer_descriptors(byte_writer& w, std::span<const buffer_descriptor_v1> list);
// Sum of the descriptors' lengths, 64-bit so that no list can overflow it.
uint64_t total_length(std::span<const buffer_descriptor_v1> list);

} // namespace smbx
