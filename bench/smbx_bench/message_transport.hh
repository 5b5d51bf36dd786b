// How smb2_client moves SMB2 messages: one interface, two backends. Direct TCP
// (tcp_transport: MS-SMB2 2.1, each message behind a 4-byte length) and SMB Direct
// (smbd_client_transport: MS-SMBD over an RDMA reliable connection, which also lets the
// server place READ data and fetch WRITE data with RDMA, MS-SMB2 2.2.19 / 2.2.21).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "common/byte_codec.hh"
#include "rdma/smbd_messages.hh"

namespace smbx::bench {

// A piece of the client's registered I/O memory that one READ or WRITE lends the server:
// `memory` locally, `descriptor` (SMB_DIRECT_BUFFER_DESCRIPTOR_V1, MS-SMBD 2.2.3.1) as
// the server addresses it.
struct rdma_buffer {
    uint32_t slot = 0;
    std::span<uint8_t> memory;
    buffer_descriptor_v1 descriptor;
    // The token is a memory window bound for this request alone: ask the server to
    // invalidate it with its reply (SMB2_CHANNEL_RDMA_V1_INVALIDATE).
    bool invalidate = false;
};

class message_transport {
public:
    virtual ~message_transport() = default;
    // Sends one SMB2 message (already signed or encrypted). Throws smb_error.
    virtual void send(byte_span message) = 0;
    // Blocks until the next whole SMB2 message arrives. Throws smb_error when the
    // connection is gone.
    virtual bytes receive() = 0;
    // For a thread that polls several connections: true when receive() has a message
    // without blocking. false: wait until wait_fd() polls readable, then ask again (or
    // call receive()).
    virtual bool ready() = 0;
    virtual int wait_fd() const = 0;
    // The largest message send() takes (SMB Direct: the server's MaxFragmentedSize).
    virtual size_t max_message_size() const { return SIZE_MAX; }

    // Direct data placement (SMB Direct only): a registered buffer of at least n bytes,
    // or nullopt when the transport has none (TCP) or all are lent out.
    virtual std::optional<rdma_buffer> lend(size_t /*n*/) { return std::nullopt; }
    virtual void give_back(uint32_t /*slot*/) {}
    // The most one RDMA channel may move (MS-SMBD MaxReadWriteSize); 0: no RDMA.
    virtual uint32_t max_read_write_size() const { return 0; }
};

} // namespace smbx::bench
