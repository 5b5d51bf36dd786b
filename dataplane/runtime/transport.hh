// The seam between the SMB2 engine and the wires it runs on, in the spirit of SPDK's
// spdk_nvmf_transport_ops and ksmbd's ksmbd_transport_ops. A transport accepts
// connections and delivers complete SMB2 messages (its own framing removed: the 4-byte
// Direct TCP header, or MS-SMBD data transfer messages); the engine answers with
// complete messages and the transport frames and sends them. Backends: kernel TCP on
// io_uring (tcp/), SMB Direct (rdma/), DPDK (dpdk/).
#pragma once

#include <atomic>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/byte_codec.hh"
#include "common/control_channel.hh"
#include "dataplane/runtime/buffer_descriptor.hh"
#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/runtime/message_limits.hh"
#include "dataplane/runtime/worker.hh"

namespace smbx {

// One message to send: `head` (an SMB2 header and body, or a TRANSFORM_HEADER and the
// ciphertext of those), then `payload`: READ data left in the pool buffer the file was
// read into, so that it reaches the wire without being copied. The transport frames
// the two as one message.
struct out_message {
    out_message() = default;
    out_message(bytes h) : head(std::move(h)) {} // NOLINT: a message without payload
    out_message(bytes h, pool_buffer p) : head(std::move(h)), payload(std::move(p)) {}
    bytes head;
    pool_buffer payload;
    size_t size() const { return head.size() + payload.size(); }
};

// One client connection as the engine sees it. Methods may be called from any thread;
// the transport serialises them onto the worker that owns the connection.
class transport_connection {
public:
    virtual ~transport_connection() = default;

    // Queues one complete SMB2 message (or compound chain, or TRANSFORM_HEADER
    // message) for sending, in order.
    virtual void send(out_message message) = 0;
    // Closes the connection; queued sends are dropped. Idempotent.
    virtual void close() = 0;

    virtual const std::string& peer_address() const = 0;

    // Optional operations, for SMB2 READ and WRITE with SMB2_CHANNEL_RDMA_V1 and
    // _V1_INVALIDATE (MS-SMB2 3.3.5.12, 3.3.5.13), as ksmbd_transport_ops carries
    // rdma_read/rdma_write. Only an RDMA transport (SMB Direct) has them; on the others
    // the engine answers STATUS_INVALID_PARAMETER and never calls the rest.
    virtual bool supports_rdma_channel() const { return false; }
    // RDMA READ of the client's buffers, in descriptor order, into `into` (a pool buffer
    // of total_length(remote) bytes). true: every byte arrived. On false the buffer may
    // be gone (still held by the hardware): do not use it. Request threads only: blocks
    // until the worker has finished the transfer.
    virtual bool rdma_read(std::vector<buffer_descriptor_v1> remote, pool_buffer& into) {
        (void)remote, (void)into;
        return false;
    }
    // RDMA WRITE of `from` into the client's buffers, in descriptor order. As rdma_read.
    virtual bool rdma_write(std::vector<buffer_descriptor_v1> remote, pool_buffer& from) {
        (void)remote, (void)from;
        return false;
    }
    // The next reply this connection sends invalidates `token` (SEND with Invalidate,
    // MS-SMBD 3.1.4.2): the answer to a READ or WRITE with SMB2_CHANNEL_RDMA_V1_INVALIDATE.
    virtual void rdma_invalidate_with_next_reply(uint32_t token) { (void)token; }
    // The negotiated MaxReadWriteSize (MS-SMBD 3.1.5.6): the most one RDMA channel moves.
    virtual uint32_t rdma_max_read_write_size() const { return 0; }

    // The longest message the peer may send now (a Direct TCP frame could say 16 MiB,
    // MS-SMB2 2.1). Small until the connection has a session, so that a client that
    // never logs on cannot make the server hold large receive buffers; the engine
    // raises it once a SESSION_SETUP succeeds. The engine refuses a longer message
    // from any transport (smb_server.cc); the Direct TCP framers also check it at the
    // frame header, so as not to allocate for a message that will be refused.
    static constexpr uint32_t pre_session_max_message = smbx::pre_session_max_message;
    static constexpr uint32_t max_message = max_message_size;
    std::atomic<uint32_t> max_incoming{pre_session_max_message};

    // The engine's state for this connection, set in on_connect; touched only by the
    // events, which run on the connection's worker (no lookup, no lock per message).
    std::shared_ptr<void> engine_state;
};

// What a transport tells the engine.
class transport_events {
public:
    virtual ~transport_events() = default;
    virtual void on_connect(const std::shared_ptr<transport_connection>& conn) = 0;
    // One complete message as received (not yet decrypted or verified), in a pool
    // buffer: a WRITE's data goes from there to the file.
    virtual void on_message(const std::shared_ptr<transport_connection>& conn, pool_buffer msg) = 0;
    virtual void on_disconnect(const std::shared_ptr<transport_connection>& conn) = 0;
};

// A backend's instance on one worker, polled by that worker (runtime/worker.hh).
class transport : public poller {};

// What a backend is created with.
struct backend_context {
    const dataplane_settings& settings;
    transport_events& events; // the SMB2 engine
    // One per core, not running yet; a backend gives each its instance in start().
    std::vector<worker*> workers;
    buffer_pool& pool; // receives land in it; RDMA registers it with the device
};

// A backend's whole life, as SPDK's spdk_nvmf_transport_ops has it (create, listen,
// poll groups, destroy). main.cc: the registry creates the backends the settings turn
// on (transport_registry.hh), each listens and starts on the workers; once the workers
// have stopped, each stops.
class transport_backend {
public:
    virtual ~transport_backend() = default;
    virtual const char* name() const = 0;
    // Opens what accepts connections (the sockets smbx-control handed over, the RDMA CM
    // listeners, the DPDK port and its stacks). False, with the reason logged: nothing
    // to serve.
    virtual bool listen() = 0;
    // Gives each worker of the context its instance to poll, and connection placement
    // its members (runtime/connection_placement.hh). Before the workers run.
    virtual void start() = 0;
    // After the workers have stopped: closes the connections and frees everything.
    virtual void stop() = 0;
    // The IPv4 addresses (network byte order) clients reach it on, after listen(): what
    // FSCTL_QUERY_NETWORK_INTERFACE_INFO reports (MS-SMB2 3.3.5.15.11).
    virtual std::vector<uint32_t> listening_addresses() const = 0;
    // Its connections have the RDMA operations: its addresses are RDMA_CAPABLE.
    virtual bool supports_rdma_channel() const { return false; }
};

// How a backend is found: each backend ends with one constant registration (as SPDK's
// SPDK_NVMF_TRANSPORT_REGISTER), and main.cc lists them (an explicit list: nothing for
// the linker to drop).
struct transport_registration {
    const char* name;
    // Whether the settings turn it on.
    bool (*wanted)(const dataplane_settings& settings);
    // Required: the data plane does not run without it (the backend `transport` names).
    // Optional (SMB Direct beside TCP): one that cannot start is left out.
    bool required;
    // nullptr, with the reason logged, when it cannot run here.
    std::unique_ptr<transport_backend> (*create)(const backend_context& context);
};

} // namespace smbx
