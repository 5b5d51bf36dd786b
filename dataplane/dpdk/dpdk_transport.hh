// The DPDK transport: SMB2 over the user-space TCP/IPv4 stack (dataplane/net/), one
// stack per worker on that worker's RX/TX queue pair of the DPDK port, listening on the
// SMB port. Framing is Direct TCP (MS-SMB2 2.1), as in tcp/tcp_transport.
//
// Receive: a message that lies whole in one TCP segment reaches the engine as a view of
// the segment's mbuf, which is freed when the engine drops the message (on any thread);
// a message that spans segments is copied into a pool buffer and the mbufs are freed at
// once (direct_tcp_reassembler). Send: the Direct TCP header, the head and the payload
// pool buffer go to the stack as three tx blocks, without a copy;
// the stack (and the PMD, for external buffers) hold them until the peer acknowledges
// the bytes, and then the pool buffer returns to the pool.
//
// Other threads (request threads) queue sends and closes through a posted queue, as
// tcp_transport does. The worker never sleeps while it carries this transport: the
// PMDs used here (af_packet, af_xdp) give no RX interrupt to wait on, and the stack's
// timers need polling.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/dpdk/direct_tcp_reassembler.hh"
#include "dataplane/dpdk/dpdk_port.hh"
#include "dataplane/dpdk/worker_inbox.hh"
#include "dataplane/net/impaired_nic.hh"
#include "dataplane/net/stack.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/runtime/posted_queue.hh"
#include "dataplane/runtime/transport.hh"
#include "dataplane/runtime/worker.hh"

namespace smbx::dpdk {

class dpdk_transport;

class dpdk_connection final : public transport_connection,
                              public std::enable_shared_from_this<dpdk_connection> {
public:
    dpdk_connection(dpdk_transport& owner, net::connection_id id, std::string peer)
        : _owner(owner), _id(id), _peer(std::move(peer)) {}

    void send(out_message message) override;
    void close() override;
    const std::string& peer_address() const override { return _peer; }

private:
    friend class dpdk_transport;
    dpdk_transport& _owner;
    const net::connection_id _id;
    std::string _peer;
    direct_tcp_reassembler _rx;
    bool _closing = false;
};

class dpdk_transport final : public transport,
                             private net::tcp_events,
                             private net::neighbor_observer {
public:
    // Serves `listen_port` on queue pair `queue` of `p` (which must outlive this).
    dpdk_transport(port& p, uint16_t queue, const net::stack_config& config, uint16_t listen_port,
                   transport_events& events, worker& owner);
    ~dpdk_transport() override;

    // poller
    unsigned poll() override;
    bool before_sleep() override { return false; }

    // Several workers (dpdk_transport_peers.cc): `peers[i]` is worker i's transport, this
    // one included. Frames of flows another worker owns go there; ARP news goes to all.
    // Before the workers start.
    void set_peers(std::vector<dpdk_transport*> peers);

    // Any thread.
    void send(net::connection_id id, out_message message);
    void post_close(net::connection_id id);
    size_t connection_count() const { return _connection_count.load(std::memory_order_relaxed); }

private:
    struct posted {
        bool close = false;
        net::connection_id id = 0;
        out_message message;
    };

    // net::tcp_events, run inside the stack on the worker.
    void on_established(net::stack& s, net::connection_id id) override;
    void on_data(net::stack& s, net::connection_id id, net::packet_buffer payload) override;
    void on_peer_closed(net::stack& s, net::connection_id id) override;
    void on_closed(net::stack& s, net::connection_id id, net::close_reason reason) override;

    void transmit(dpdk_connection& c, out_message message);
    void begin_close(dpdk_connection& c);
    void run_posted(posted& p);
    dpdk_connection* find(net::connection_id id);
    // The stack's counters into `smbxctl status` (dpdk_*), at most every 100 ms.
    void publish_counters();

    // Cross-worker steering and ARP (dpdk_transport_peers.cc).
    class steering_receiver final : public net::frame_receiver {
    public:
        explicit steering_receiver(dpdk_transport& t) : _t(t) {}
        void receive(net::packet_buffer frame, net::time_us now) override;

    private:
        dpdk_transport& _t;
    };
    net::frame_receiver& local_receiver();
    net::frame_receiver& rx_target();
    unsigned drain_inbox(net::time_us now);
    void send_outbox();
    void on_neighbor_learned(net::ipv4_address ip, const net::mac_address& mac) override;

    transport_events& _events;
    worker& _worker;
    port& _port;
    const uint16_t _queue;
    queue_nic _nic;
    // `dpdk impair` (a test mode): between the queue and the stack, both ways.
    std::unique_ptr<net::impaired_nic> _impaired;
    std::unique_ptr<net::stack> _stack;
    counters::published_counters _published;
    net::time_us _next_publish = 0;
    std::map<net::connection_id, std::shared_ptr<dpdk_connection>> _connections;
    std::atomic<size_t> _connection_count{0};
    posted_queue<posted> _posted{&_worker};

    std::vector<dpdk_transport*> _peers;                  // by worker index; empty: alone
    std::vector<std::vector<net::packet_buffer>> _outbox; // frames for each peer
    worker_inbox _inbox;
    worker_inbox::batch _taken;
    steering_receiver _steer{*this};
    uint64_t _frames_steered_out = 0; // received here, owned by another worker
    uint64_t _frames_steered_in = 0;
    uint64_t _neighbors_shared = 0; // ARP news passed to the other workers
    // Lending stops while this many mbufs (a quarter of the port's pool) are held.
    const uint64_t _lend_limit;
    uint64_t _rx_messages_lent = 0;
    uint64_t _rx_messages_assembled = 0;
};

} // namespace smbx::dpdk
