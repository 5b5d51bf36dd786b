// Direct TCP (MS-SMB2 2.1): each SMB2 message behind a 4-byte big-endian length.
// Blocking socket.
#pragma once

#include <cstdint>
#include <string>

#include "bench/smbx_bench/message_transport.hh"

namespace smbx::bench {

class tcp_transport final : public message_transport {
public:
    // Connects to host:port (any address family getaddrinfo offers). Throws smb_error.
    tcp_transport(const std::string& host, uint16_t port);
    ~tcp_transport() override;
    tcp_transport(const tcp_transport&) = delete;
    tcp_transport& operator=(const tcp_transport&) = delete;

    void send(byte_span message) override;
    bytes receive() override;
    bool ready() override { return false; } // the kernel buffers: poll the socket
    int wait_fd() const override { return _fd; }

private:
    void recv_all(uint8_t* p, size_t n);

    int _fd = -1;
};

} // namespace smbx::bench
