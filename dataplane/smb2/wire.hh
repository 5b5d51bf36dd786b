// SMB2 wire constants and the 64-byte packet header (MS-SMB2 2.2.1).
#pragma once

#include <array>
#include <cstdint>

#include "common/byte_codec.hh"

namespace smbx::smb2 {

constexpr uint32_t protocol_id = 0x424D53FE;           // 0xFE 'S' 'M' 'B'
constexpr uint32_t transform_protocol_id = 0x424D53FD; // 0xFD 'S' 'M' 'B' (2.2.41)
constexpr size_t header_size = 64;
constexpr size_t transform_header_size = 52;

enum class command : uint16_t {
    negotiate = 0x00,
    session_setup = 0x01,
    logoff = 0x02,
    tree_connect = 0x03,
    tree_disconnect = 0x04,
    create = 0x05,
    close = 0x06,
    flush = 0x07,
    read = 0x08,
    write = 0x09,
    lock = 0x0A,
    ioctl = 0x0B,
    cancel = 0x0C,
    echo = 0x0D,
    query_directory = 0x0E,
    change_notify = 0x0F,
    query_info = 0x10,
    set_info = 0x11,
    oplock_break = 0x12,
};
constexpr uint16_t command_count = 0x13;

// Header flags (2.2.1.2)
constexpr uint32_t flag_server_to_redir = 0x00000001;
constexpr uint32_t flag_async_command = 0x00000002;
constexpr uint32_t flag_related_operations = 0x00000004;
constexpr uint32_t flag_signed = 0x00000008;
constexpr uint32_t flag_priority_mask = 0x00000070;
constexpr uint32_t flag_dfs_operations = 0x10000000;
constexpr uint32_t flag_replay_operation = 0x20000000;

// Dialects (2.2.3)
constexpr uint16_t dialect_202 = 0x0202;
constexpr uint16_t dialect_210 = 0x0210;
constexpr uint16_t dialect_300 = 0x0300;
constexpr uint16_t dialect_302 = 0x0302;
constexpr uint16_t dialect_311 = 0x0311;
constexpr uint16_t dialect_wildcard = 0x02FF;

// Global capabilities (2.2.4)
constexpr uint32_t cap_dfs = 0x01;
constexpr uint32_t cap_leasing = 0x02;
constexpr uint32_t cap_large_mtu = 0x04;
constexpr uint32_t cap_multi_channel = 0x08;
constexpr uint32_t cap_persistent_handles = 0x10;
constexpr uint32_t cap_directory_leasing = 0x20;
constexpr uint32_t cap_encryption = 0x40;

// Security mode (2.2.3, 2.2.4)
constexpr uint16_t signing_enabled = 0x0001;
constexpr uint16_t signing_required = 0x0002;

// Negotiate context types (2.2.3.1)
constexpr uint16_t ctx_preauth_integrity = 0x0001;
constexpr uint16_t ctx_encryption = 0x0002;
constexpr uint16_t ctx_compression = 0x0003;
constexpr uint16_t ctx_netname = 0x0005;
constexpr uint16_t ctx_transport = 0x0006;
constexpr uint16_t ctx_rdma_transform = 0x0007;
constexpr uint16_t ctx_signing = 0x0008;

constexpr uint16_t hash_sha512 = 0x0001;

enum class cipher : uint16_t {
    none = 0,
    aes128_ccm = 0x0001,
    aes128_gcm = 0x0002,
    aes256_ccm = 0x0003,
    aes256_gcm = 0x0004,
};
enum class signing_algorithm : uint16_t {
    hmac_sha256 = 0x0000,
    aes_cmac = 0x0001,
    aes_gmac = 0x0002,
};

// Session flags (2.2.6)
constexpr uint16_t session_flag_is_guest = 0x0001;
constexpr uint16_t session_flag_is_null = 0x0002;
constexpr uint16_t session_flag_encrypt_data = 0x0004;

// Tree connect response (2.2.10)
constexpr uint8_t share_type_disk = 0x01;
constexpr uint8_t share_type_pipe = 0x02;
constexpr uint32_t shareflag_encrypt_data = 0x00008000;
constexpr uint32_t shareflag_no_caching = 0x00000030;

// QUERY_INFO / SET_INFO InfoType (2.2.37, 2.2.39: SMB2_0_INFO_*)
constexpr uint8_t info_file = 1;
constexpr uint8_t info_filesystem = 2;
constexpr uint8_t info_security = 3;
constexpr uint8_t info_quota = 4;

struct header {
    uint16_t credit_charge = 0;
    uint32_t status = 0; // ChannelSequence/Reserved in requests of 3.x
    command cmd = command::negotiate;
    uint16_t credits = 0; // CreditRequest / CreditResponse
    uint32_t flags = 0;
    uint32_t next_command = 0;
    uint64_t message_id = 0;
    uint64_t async_id = 0;   // when flag_async_command
    uint32_t process_id = 0; // sync: Reserved
    uint32_t tree_id = 0;    // sync only
    uint64_t session_id = 0;
    std::array<uint8_t, 16> signature{};

    bool is_async() const { return flags & flag_async_command; }
    bool is_related() const { return flags & flag_related_operations; }
    bool is_signed() const { return flags & flag_signed; }
};

// Parse the 64-byte header at the start of `message`. False if it is not an SMB2 header.
bool parse_header(byte_span message, header& out);
// Append a 64-byte header to `w`.
// The 64-byte header into `out` (a response built in place).
void write_header(std::span<uint8_t, header_size> out, const header& h);
void write_header(byte_writer& w, const header& h);

// The SMB2 TRANSFORM_HEADER (2.2.41).
struct transform_header {
    std::array<uint8_t, 16> signature{};
    std::array<uint8_t, 16> nonce{};
    uint32_t original_message_size = 0;
    uint16_t flags = 0; // 3.1.1: Flags = 0x0001 Encrypted; 3.0: EncryptionAlgorithm
    uint64_t session_id = 0;
};
bool parse_transform_header(byte_span message, transform_header& out);
void write_transform_header(byte_writer& w, const transform_header& h);

} // namespace smbx::smb2
