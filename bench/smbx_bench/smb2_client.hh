// A minimal SMB2/3 client for load generation: one TCP connection, NEGOTIATE (3.1.1,
// 3.0.2, 2.1), NTLMv2 SESSION_SETUP in SPNEGO, TREE_CONNECT, CREATE, CLOSE, and READ /
// WRITE requests pipelined within the credit window (MS-SMB2 3.2.4.1.5), large ones
// multi-credit. Blocking socket; a thread may poll several clients' sockets.
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/byte_codec.hh"
#include "dataplane/smb2/wire.hh"

namespace smbx::bench {

// A failure of the protocol or the connection, with a message meant for the user.
struct smb_error : std::runtime_error {
    smb_error(const std::string& what, uint32_t status = 0)
        : std::runtime_error(what), status(status) {}
    uint32_t status;
};

struct client_config {
    std::string host;
    uint16_t port = 445;
    std::string share;
    std::string user;
    std::string domain = "WORKGROUP";
    std::string password;
    bool sign = false;
    bool encrypt = false;
    uint16_t max_dialect = smb2::dialect_311;
};

using file_id = std::array<uint8_t, 16>;

// One response, its payload copied out (READ data) when it has one.
struct response {
    uint64_t message_id = 0;
    smb2::command cmd = smb2::command::negotiate;
    uint32_t status = 0;
    bytes data;         // READ: the data read
    uint32_t count = 0; // WRITE: bytes written
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
    void close(const file_id& fid);

    // Credits available for a request of `length` bytes (its CreditCharge).
    bool can_send(size_t length) const;
    uint64_t send_read(const file_id& fid, uint64_t offset, uint32_t length);
    uint64_t send_write(const file_id& fid, uint64_t offset, byte_span data);
    // The next final response (interim STATUS_PENDING ones are absorbed).
    response receive(bytes* raw_response = nullptr);

    uint16_t dialect() const { return _dialect; }
    smb2::cipher cipher_id() const { return _cipher; }
    smb2::signing_algorithm signing_alg() const { return _sign_alg; }
    bool encrypting() const { return _encrypt; }
    bool signing() const { return _sign; }
    uint32_t max_read() const { return _max_read; }
    uint32_t max_write() const { return _max_write; }
    // The socket, for a thread that polls several clients (still blocking to read from).
    int fd() const { return _fd; }

    static uint16_t credit_charge(size_t length);

private:
    // Frames, signs or encrypts, and sends one request; returns its MessageId.
    uint64_t send(smb2::command cmd, const bytes& body, size_t payload_len = 0,
                  byte_span payload = {}, bytes* raw = nullptr);
    // A whole request/response exchange for the setup commands.
    response call(smb2::command cmd, const bytes& body, bytes* raw_request = nullptr,
                  bytes* raw_response = nullptr);
    bytes receive_frame();
    response parse(bytes msg, bytes* raw);
    void negotiate();
    void session_setup();
    void tree_connect();
    void send_all(const uint8_t* p, size_t n);
    void recv_all(uint8_t* p, size_t n);

    client_config _cfg;
    int _fd = -1;
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
