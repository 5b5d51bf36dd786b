// MS-SMBD wire messages: the negotiate request and response (2.2.1, 2.2.2), the data
// transfer message header (2.2.3). SMB_DIRECT_BUFFER_DESCRIPTOR_V1 lists (2.2.3.1) are in
// runtime/buffer_descriptor.hh, shared with the SMB2 engine.
// Parsers check structure only; the connection engine applies the limits it negotiated.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/byte_codec.hh"
#include "dataplane/runtime/buffer_descriptor.hh" // 2.2.3.1, with SMB2's channel info

namespace smbx::rdma {

// MS-SMBD 1.7: the only protocol version.
constexpr uint16_t smbd_version_1 = 0x0100;

constexpr size_t negotiate_request_size = 20;  // 2.2.1
constexpr size_t negotiate_response_size = 32; // 2.2.2
// 3.1.5.8: a received data transfer message is at least 20 bytes (the header without
// Padding); 3.1.5.4: a sender puts the payload at offset 24, after the 4-byte Padding.
constexpr size_t data_transfer_min_size = 20;
constexpr size_t data_transfer_header_size = 24;

// 2.2.3 Flags.
constexpr uint16_t smbd_flag_response_requested = 0x0001;

// 3.1.5.6 / 3.1.5.7: the smallest limits a peer may announce.
constexpr uint32_t smbd_min_receive_size = 128;
constexpr uint32_t smbd_min_fragmented_size = 131072;

struct negotiate_request {
    uint16_t min_version = smbd_version_1;
    uint16_t max_version = smbd_version_1;
    uint16_t credits_requested = 0;
    uint32_t preferred_send_size = 0;
    uint32_t max_receive_size = 0;
    uint32_t max_fragmented_size = 0;
};

struct negotiate_response {
    uint16_t min_version = smbd_version_1;
    uint16_t max_version = smbd_version_1;
    uint16_t negotiated_version = 0;
    uint16_t credits_requested = 0;
    uint16_t credits_granted = 0;
    uint32_t status = 0;
    uint32_t max_read_write_size = 0;
    uint32_t preferred_send_size = 0;
    uint32_t max_receive_size = 0;
    uint32_t max_fragmented_size = 0;
};

// The fixed fields of a data transfer message (2.2.3).
struct data_transfer_header {
    uint16_t credits_requested = 0;
    uint16_t credits_granted = 0;
    uint16_t flags = 0;
    uint32_t remaining_data_length = 0;
    uint32_t data_offset = 0;
    uint32_t data_length = 0;
};

struct data_transfer_message {
    data_transfer_header header;
    byte_span payload; // points into the received buffer
};

// Shorter than 20 bytes: nullopt (3.1.5.6 says terminate). Extra bytes are ignored.
std::optional<negotiate_request> parse_negotiate_request(byte_span msg);
void write_negotiate_request(byte_writer& w, const negotiate_request& req);

// Shorter than 32 bytes: nullopt (3.1.5.7).
std::optional<negotiate_response> parse_negotiate_response(byte_span msg);
void write_negotiate_response(byte_writer& w, const negotiate_response& rsp);

// Why a data transfer message was refused (for the log line before disconnecting).
enum class data_transfer_error {
    none,
    too_short,         // fewer than 20 bytes
    misaligned_offset, // DataOffset not 8-byte aligned
    payload_outside,   // DataOffset + DataLength beyond the message
    payload_in_header, // DataLength > 0 but DataOffset inside the 20-byte header
};
const char* describe(data_transfer_error e);

// Structural checks of 3.1.5.8 (length, DataOffset alignment and bounds). The limits
// (CreditsRequested >= 1, DataLength + RemainingDataLength against the negotiated
// maximum) are the connection's to check.
data_transfer_error parse_data_transfer(byte_span msg, data_transfer_message& out);

// Writes the header for a message carrying payload_length bytes (3.1.5.4): with a
// payload, DataOffset 24 and the 4 Padding bytes; without, the 20-byte header with
// DataOffset and DataLength 0 and no Padding. The payload follows in the caller's buffer.
void write_data_transfer_header(byte_writer& w, uint16_t credits_requested,
                                uint16_t credits_granted, uint16_t flags,
                                uint32_t remaining_data_length, uint32_t payload_length);

} // namespace smbx::rdma
