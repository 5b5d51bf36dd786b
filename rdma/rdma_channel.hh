// What SMB2 READ and WRITE with an RDMA channel (SMB2_CHANNEL_RDMA_V1 and
// _V1_INVALIDATE, MS-SMB2 3.3.5.12 / 3.3.5.13) need from the connection's transport. An
// SMB Direct connection implements it; a TCP connection has none, and the handlers then
// answer STATUS_INVALID_PARAMETER. Called on the request threads, which may block: each
// call returns when the transfer is over.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/runtime/buffer_pool.hh"
#include "rdma/smbd_messages.hh"

namespace smbx::rdma {

class rdma_channel {
public:
    virtual ~rdma_channel() = default;
    // RDMA READ of the client's buffers, in descriptor order, into `into` (a pool
    // buffer of total_length(remote) bytes). true: every byte arrived. On false the
    // buffer may be gone (still held by the hardware): do not use it.
    virtual bool read_from_client(std::vector<buffer_descriptor_v1> remote, pool_buffer& into) = 0;
    // RDMA WRITE of `from` into the client's buffers, in descriptor order.
    virtual bool write_to_client(std::vector<buffer_descriptor_v1> remote, pool_buffer& from) = 0;
    // The next reply this connection sends invalidates `token` (SEND with Invalidate,
    // MS-SMBD 3.1.4.2): the answer to a READ or WRITE with SMB2_CHANNEL_RDMA_V1_INVALIDATE.
    virtual void invalidate_with_next_reply(uint32_t token) = 0;
    // The negotiated MaxReadWriteSize (MS-SMBD 3.1.5.6): the most one RDMA channel moves.
    virtual uint32_t max_read_write_size() const = 0;
};

} // namespace smbx::rdma
