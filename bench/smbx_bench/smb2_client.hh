// A minimal SMB2/3 client for load generation: one connection (Direct TCP or SMB Direct,
// message_transport.hh), NEGOTIATE (3.1.1, 3.0.2, 2.1), NTLMv2 SESSION_SETUP in SPNEGO,
// TREE_CONNECT, CREATE, CLOSE, and READ / WRITE requests pipelined within the credit
// window (MS-SMB2 3.2.4.1.5), large ones multi-credit; over SMB Direct, those above a
// threshold with an RDMA channel. Blocking; a thread may poll several clients.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "bench/smbx_bench/message_transport.hh"
#include "common/byte_codec.hh"
#include "dataplane/smb2/wire.hh"

namespace smbx::bench {

// A failure of the protocol or the connection, with a message meant for the user.
struct smb_error : std::runtime_error {
    smb_error(const std::string& what, uint32_t status = 0)
        : std::runtime_error(what), status(status) {}
    uint32_t status;
};

enum class transport_kind { tcp, rdma };

using file_id = std::array<uint8_t, 16>;

struct client_config {
    std::string host;
    uint16_t port = 445;
    transport_kind transport = transport_kind::tcp;
    // SMB Direct: READ and WRITE of more than rdma_threshold bytes go by RDMA
    // (SMB2_CHANNEL_RDMA_V1) through rdma_buffers registered buffers of
    // rdma_buffer_size bytes; smaller ones, or when every buffer is in use, inline.
    uint32_t rdma_threshold = 4096;
    uint32_t rdma_buffers = 4;
    uint32_t rdma_buffer_size = 1u << 20;
    // SMB2_CHANNEL_RDMA_V1_INVALIDATE (3.0.2 and later) with a memory window per request
    // instead of SMB2_CHANNEL_RDMA_V1 with the registration's key.
    bool rdma_invalidate = false;
    std::string share;
    std::string user;
    std::string domain = "WORKGROUP";
    std::string password;
    bool sign = false;
    bool encrypt = false;
    uint16_t max_dialect = smb2::dialect_311;
    uint8_t oplock_level = 0; // what a CREATE asks for (--oplock)
};

// One response, its payload copied out (READ data) when it has one.
struct response {
    uint64_t message_id = 0;
    smb2::command cmd = smb2::command::negotiate;
    uint32_t status = 0;
    bytes data;           // READ: the data read (also when it came by RDMA)
    uint32_t count = 0;   // WRITE: bytes written
    file_id fid{};        // CREATE: the FileId opened
    bool by_rdma = false; // READ or WRITE data moved by RDMA, not in the messages
};

class smb2_client {
public:
    smb2_client() = default;
    ~smb2_client();
    smb2_client(const smb2_client&) = delete;
    smb2_client& operator=(const smb2_client&) = delete;

    // Connect, negotiate, authenticate, connect the tree. Throws smb_error.
    void connect(const client_config& cfg);

    file_id open(const std::string& name);
    // CREATE (FILE_OPEN_IF of a file, no oplock) without waiting for the response.
    uint64_t send_create(const std::string& name);
    void close(const file_id& fid);

    // Credits available for a request of `length` bytes (its CreditCharge).
    bool can_send(size_t length) const;
    uint64_t send_read(const file_id& fid, uint64_t offset, uint32_t length);
    uint64_t send_write(const file_id& fid, uint64_t offset, byte_span data);
    uint64_t send_flush(const file_id& fid) { return send_on_file(smb2::command::flush, fid); }
    uint64_t send_close(const file_id& fid) { return send_on_file(smb2::command::close, fid); }
    // The next final response (interim STATUS_PENDING ones are absorbed).
    response receive(bytes* raw_response = nullptr);

    uint16_t dialect() const { return _dialect; }
    smb2::cipher cipher_id() const { return _cipher; }
    smb2::signing_algorithm signing_alg() const { return _sign_alg; }
    bool encrypting() const { return _encrypt; }
    bool signing() const { return _sign; }
    uint32_t max_read() const { return _max_read; }
    // MaxWriteSize, or less where the data must go in the message and the transport
    // caps it (encrypted WRITEs over SMB Direct).
    uint32_t max_write() const;
    // For a thread that polls several clients: true when receive() has a response at
    // hand; otherwise wait until wait_fd() polls readable.
    bool response_ready() { return _transport->ready(); }
    int wait_fd() const { return _transport->wait_fd(); }
    // READs and WRITEs whose data went by RDMA (SMB Direct).
    uint64_t rdma_ios() const { return _rdma_ios; }

    static uint16_t credit_charge(size_t length);

private:
    // Frames, signs or encrypts, and sends one request; returns its MessageId.
    uint64_t send(smb2::command cmd, const bytes& body, size_t payload_len = 0,
                  byte_span payload = {}, bytes* raw = nullptr);
    uint64_t send_on_file(smb2::command cmd, const file_id& fid);
    // A whole request/response exchange for the setup commands.
    response call(smb2::command cmd, const bytes& body, bytes* raw_request = nullptr,
                  bytes* raw_response = nullptr);
    bytes receive_frame();
    response parse(bytes msg, bytes* raw);
    void negotiate();
    void session_setup();
    void tree_connect();
    // A registered buffer for a READ or WRITE of `length` bytes, if it should and can
    // go by RDMA.
    std::optional<rdma_buffer> rdma_for(size_t length);

    client_config _cfg;
    std::unique_ptr<message_transport> _transport;
    std::unordered_map<uint64_t, rdma_buffer> _lent; // by MessageId
    uint64_t _rdma_ios = 0;
    uint16_t _dialect = 0;
    uint16_t _server_security_mode = 0;
    smb2::cipher _cipher = smb2::cipher::none;
    smb2::signing_algorithm _sign_alg = smb2::signing_algorithm::hmac_sha256;
    uint32_t _max_read = 65536;
    uint32_t _max_write = 65536;
    bool _large_mtu = false;
    std::array<uint8_t, 64> _preauth{};
    uint64_t _next_message_id = 0;
    uint32_t _credits = 1;
    uint64_t _breaks_received = 0; // oplock and lease break notifications, skipped
    uint64_t _session_id = 0;
    uint32_t _tree_id = 0;
    bool _sign = false;
    bool _encrypt = false;
    bool _check_signatures = false;
    bool _sign_tree_connect = false;
    bytes _signing_key;
    bytes _encryption_key; // client to server
    bytes _decryption_key; // server to client
};

} // namespace smbx::bench
