// The server side of one SMB Direct connection (MS-SMBD 3.1), independent of verbs: the
// negotiate exchange, send and receive credits, fragmentation and reassembly, keepalive,
// RDMA READ/WRITE transfers and teardown. It drives the hardware through a verbs_port and
// is driven by the port's completions and by poll(now), which runs the timers, so tests
// control time. One thread (the worker that owns the connection) makes every call.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/byte_codec.hh"
#include "rdma/smbd_messages.hh"
#include "rdma/smbd_rdma_transfers.hh"
#include "rdma/smbd_reassembly.hh"
#include "rdma/verbs_port.hh"

namespace smbx::rdma {

using smbd_clock = std::chrono::steady_clock;

// The local values a connection starts from (MS-SMBD 3.1.1.1 Connection.*, set as in
// 3.1.4.1). Defaults: Windows' (<2> in 7 Appendix B) except the send and receive sizes,
// which are ksmbd's 1364 (a message then fits one Ethernet-MTU RoCE packet).
struct smbd_settings {
    uint16_t receive_credit_max = 255;
    uint16_t send_credit_target = 255;
    uint32_t max_send_size = 1364;
    uint32_t max_receive_size = 1364;
    uint32_t max_fragmented_recv_size = 1048576;
    uint32_t max_read_write_size = 8 * 1048576;
    // 3.1.2.2 Idle Connection Timer (Windows: 120 s), then how long a keepalive may go
    // unanswered (implementation-specific, 3.1.5.1) before the connection is dropped.
    std::chrono::milliseconds keepalive_interval{120000};
    std::chrono::milliseconds keepalive_timeout{5000};
    // 3.1.2.1 Negotiation Timer: how long the listener waits for the negotiate request.
    std::chrono::milliseconds negotiate_timeout{5000};
};

// What the negotiate settled (3.1.5.6), for logging and for the SMB2 layer (its
// MaxReadSize/MaxWriteSize on this channel).
struct smbd_negotiated {
    uint32_t max_send_size = 0;
    uint32_t max_receive_size = 0;
    uint32_t max_fragmented_send_size = 0;
    uint32_t max_fragmented_recv_size = 0;
    uint32_t max_read_write_size = 0;
    uint16_t peer_credits_requested = 0;
    uint16_t credits_granted = 0;
};

class smbd_connection_events {
public:
    virtual ~smbd_connection_events() = default;
    // The negotiate succeeded: upper-layer messages may flow.
    virtual void on_established() {}
    // One complete, reassembled upper-layer (SMB2) message.
    virtual void on_message(bytes message) = 0;
    // The last call: the connection is down and every buffer it held (receives, sends,
    // RDMA transfers) is back. The owner may destroy the connection after this call
    // returns to its own code, not from inside it.
    virtual void on_closed() = 0;
};

class smbd_connection {
public:
    enum class state { negotiating, refusing, established, disconnecting, closed };
    enum class send_result { queued, too_large, not_connected };
    enum class rdma_result { started, not_connected, too_large, bad_descriptors, empty };

    // peer: how log lines name the connection (the client's address).
    smbd_connection(verbs_port& port, smbd_connection_events& events, const smbd_settings& settings,
                    std::string peer);
    smbd_connection(const smbd_connection&) = delete;
    smbd_connection& operator=(const smbd_connection&) = delete;

    // Posts the receive for the negotiate request and starts the negotiation timer; call
    // before accepting the RDMA CM connection. false: no receive could be posted.
    bool start(smbd_clock::time_point now);
    // The requester's side instead (a client, MS-SMBD 3.1.5.2): once the RDMA CM
    // connection is up, posts the receive for the negotiate response and sends the
    // negotiate request; on_established follows the peer's response (3.1.5.7). After
    // that, credits, fragmentation and reassembly work as for the listener: the protocol
    // is symmetric past the negotiate. false: nothing could be posted.
    bool start_requester(smbd_clock::time_point now);

    // --- from the upper layer (3.1.4.2)
    // Queues one message, `head` then `payload` (kept alive by payload_owner until sent:
    // READ data stays in the buffer the file was read into); it goes out as one or more
    // data transfer messages in order, never interleaved with another message's
    // fragments. invalidate_token: the client's rkey to invalidate with the last
    // fragment (SMB2_CHANNEL_RDMA_V1_INVALIDATE).
    send_result send_message(bytes head, byte_span payload,
                             std::shared_ptr<const void> payload_owner,
                             std::optional<uint32_t> invalidate_token = {});
    send_result send_message(bytes message, std::optional<uint32_t> invalidate_token = {}) {
        return send_message(std::move(message), {}, nullptr, invalidate_token);
    }
    // RDMA READ from the client's buffers into local (SMB2 WRITE): moves
    // total_length(remote) bytes, which must fit in local. done(ok) runs exactly once
    // unless the result is not `started`.
    rdma_result rdma_read(std::span<const buffer_descriptor_v1> remote, std::span<uint8_t> local,
                          rdma_callback done);
    // RDMA WRITE of local into the client's buffers, in descriptor order (SMB2 READ).
    rdma_result rdma_write(std::span<const buffer_descriptor_v1> remote, byte_span local,
                           rdma_callback done);
    // Tears the connection down (3.1.4.3); on_closed follows once the port has flushed.
    void close(const char* reason);

    // --- completions from the port
    void on_receive(byte_span message);
    void on_receive_error();
    void on_send_done(bool ok);
    void on_rdma_done(uint64_t wr_id, bool ok);
    void on_peer_disconnected();

    // Runs the timers and sends what was deferred to the end of a batch (credit grants,
    // keepalive answers). Returns the amount of work done.
    int poll(smbd_clock::time_point now);

    state current_state() const { return _state; }
    const smbd_negotiated& negotiated() const { return _negotiated; }
    int send_credits() const { return _send_credits; }
    int receive_credits() const { return _posted_receives; }
    size_t queued_messages() const { return _send_queue.size(); }

private:
    struct outgoing {
        bytes head;
        byte_span payload;
        std::shared_ptr<const void> payload_owner;
        std::optional<uint32_t> invalidate_token;
        size_t offset = 0; // bytes of head + payload already sent as fragments
        size_t size() const { return head.size() + payload.size(); }
    };
    enum class keepalive { none, pending, sent };

    void handle_negotiate(byte_span message);
    void handle_negotiate_response(byte_span message);
    void refuse_negotiate(uint32_t status);
    void handle_data_transfer(byte_span message);
    int replenish_receives(bool need_one);
    int pump(bool flush);
    bool send_one();
    bool grant_due() const;
    void terminate(const char* reason);
    void check_drained();
    rdma_result check_rdma(std::span<const buffer_descriptor_v1> remote, size_t local_size,
                           bool exact) const;

    verbs_port& _port;
    smbd_connection_events& _events;
    smbd_settings _settings;
    std::string _peer;
    smbd_negotiated _negotiated;
    state _state = state::negotiating;
    bool _requester = false; // started with start_requester()
    smbd_clock::time_point _now{};
    smbd_clock::time_point _deadline{}; // negotiation, idle or keepalive-answer timer

    // Credits (3.1.1.1): Connection.SendCredits, .ReceiveCredits (= posted receives),
    // .ReceiveCreditTarget; _ungranted counts posted receives not yet announced.
    int _send_credits = 0;
    int _posted_receives = 0;
    int _ungranted = 0;
    int _receive_credit_target = 0;
    int _sends_in_flight = 0;
    bool _send_immediate = false; // Connection.SendImmediate
    keepalive _keepalive = keepalive::none;

    std::deque<outgoing> _send_queue;
    bytes _header; // reused for every data transfer header
    fragment_reassembly _reassembly;
    rdma_transfer_table _rdma;
};

const char* to_string(smbd_connection::state s);

} // namespace smbx::rdma
