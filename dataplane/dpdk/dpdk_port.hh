// A DPDK Ethernet port for the user-space stack: EAL initialisation from configured
// arguments, one RX/TX queue pair per worker, an mbuf pool, and queue_nic, which moves
// frames between a queue pair and one net::stack without copying payload: received
// frames stay in their mbufs (a packet_buffer whose release frees the mbuf), and sent
// payload is attached to mbufs as external buffers that hold the tx_block until the
// PMD has sent them. PMDs that cannot send multi-segment mbufs get the payload copied
// into the header mbuf instead.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dataplane/net/stack.hh"

struct rte_mempool;

namespace smbx::dpdk {

// rte_eal_init with `args` (argv[0] is supplied). Once per process; later calls only
// report the first result. False with `error` set if EAL failed or found no port.
bool init_eal(const std::vector<std::string>& args, std::string& error);
// Splits "--no-pci --vdev net_af_packet0,iface=x" on blanks.
std::vector<std::string> split_args(const std::string& text);

struct port_config {
    uint16_t queues = 1;
    uint16_t rx_descriptors = 1024;
    uint16_t tx_descriptors = 1024;
    uint32_t mbufs = 16384;
    uint16_t mtu = 1500;
};

class port {
public:
    // Configures and starts port `port_id`; nullptr with `error` set on failure.
    static std::unique_ptr<port> open(uint16_t port_id, const port_config& config,
                                      std::string& error);
    ~port();
    port(const port&) = delete;
    port& operator=(const port&) = delete;

    uint16_t id() const { return _id; }
    net::mac_address mac() const { return _mac; }
    rte_mempool* pool() const { return _pool; }
    bool tx_multi_segment() const { return _tx_multi_segment; }
    uint16_t queues() const { return _queues; }
    const std::string& driver() const { return _driver; }
    // The PMD's counters (rte_eth_stats: imissed, rx_nombuf, ierrors, oerrors) and the
    // mbuf pool's free/in-use counts, as one log line: what an RX stall is diagnosed by.
    std::string stats_line() const;
    std::string pool_layout() const;

private:
    port() = default;
    uint16_t _id = 0;
    uint16_t _queues = 0;
    net::mac_address _mac;
    rte_mempool* _pool = nullptr;
    bool _tx_multi_segment = false;
    bool _started = false;
    std::string _driver;
};

struct queue_counters {
    uint64_t rx_frames = 0;
    uint64_t rx_multi_segment_drops = 0; // frames spread over several mbufs
    uint64_t tx_frames = 0;
    uint64_t tx_ring_full = 0;        // frames the PMD did not take
    uint64_t tx_alloc_failures = 0;   // no mbuf for a frame
    uint64_t tx_payload_attached = 0; // fragments sent as external buffers
    uint64_t tx_payload_copied = 0;   // fragments copied (PMD without multi-segment TX)
};

// Queue pair `queue` of a port, as the NIC of one stack. Used by one thread only.
class queue_nic final : public net::nic {
public:
    queue_nic(port& p, uint16_t queue) : _port(p), _queue(queue) {}

    size_t send_burst(std::span<const net::tx_frame> frames) override;
    net::mac_address mac() const override { return _port.mac(); }
    // Receives one burst and pushes each frame into `to` (the stack, or a filter in
    // front of it). Returns frames received.
    size_t poll_rx(net::frame_receiver& to, net::time_us now);
    const queue_counters& counters() const { return _counters; }

private:
    port& _port;
    uint16_t _queue;
    queue_counters _counters;
};

} // namespace smbx::dpdk
