// What the SMB Direct engine (smbd_connection) asks of one RDMA reliable-connected queue
// pair. The real one sits on libibverbs (rdma/verbs_queue_pair.*); the unit tests use an
// in-process fake. Completions come back as calls into the engine (smbd_connection::
// on_receive, on_send_done, ...), never from inside one of these calls: a port delivers
// them from its own poll, so the engine is never re-entered.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "common/byte_codec.hh"
#include "rdma/smbd_messages.hh"

namespace smbx::rdma {

class verbs_port {
public:
    virtual ~verbs_port() = default;

    // Posts one receive into a buffer of the port's own (registered once, at least
    // settings.max_receive_size bytes). false: every receive buffer is already posted.
    virtual bool post_recv() = 0;
    // Copies header, body1 and body2 (one message, gathered) into a registered send
    // buffer and posts a SEND, or a SEND with invalidate of invalidate_token (MS-SMBD
    // 3.1.5.1). false: no send slot free; nothing was posted.
    virtual bool post_send(byte_span header, byte_span body1, byte_span body2,
                           std::optional<uint32_t> invalidate_token) = 0;
    // One RDMA READ (client memory -> local) or RDMA WRITE (local -> client memory).
    // local lies inside memory the port has registered (the data plane's buffer pool);
    // it stays untouched by the caller until the completion for wr_id arrives.
    // false: the send queue is full; nothing was posted.
    virtual bool post_rdma_read(uint64_t wr_id, const buffer_descriptor_v1& remote,
                                std::span<uint8_t> local) = 0;
    virtual bool post_rdma_write(uint64_t wr_id, const buffer_descriptor_v1& remote,
                                 byte_span local) = 0;
    // Starts tearing the queue pair down (rdma_disconnect: the QP goes to the error
    // state). Afterwards every posted work request completes, flushed with an error.
    // Idempotent.
    virtual void disconnect() = 0;
};

} // namespace smbx::rdma
