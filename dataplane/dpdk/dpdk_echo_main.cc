// smbx-dpdk-echo: the user-space TCP stack on one DPDK queue pair, serving TCP echo
// (received frames are sent back as they are: zero copy both ways) and answering ARP
// and ping. For the integration test and for trying a PMD; stops after --seconds or
// on SIGTERM/SIGINT and prints the stack's and the queue's counters.
//
//   smbx-dpdk-echo --eal "--no-pci --no-huge -m 256 --vdev net_af_packet0,iface=veth0"
//                  --address 10.77.0.2/24 [--gateway A] [--port 7] [--seconds 60]
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "common/log.hh"
#include "dataplane/dpdk/af_xdp_probe.hh"
#include "dataplane/dpdk/dpdk_port.hh"

using namespace smbx;

namespace {

volatile std::sig_atomic_t g_stop = 0;

net::time_us monotonic_us() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return net::time_us(ts.tv_sec) * 1'000'000 + net::time_us(ts.tv_nsec) / 1000;
}

struct echo_service : net::tcp_events {
    uint64_t connections = 0, bytes = 0;
    void on_established(net::stack&, net::connection_id) override { ++connections; }
    void on_data(net::stack& s, net::connection_id id, net::packet_buffer p) override {
        bytes += p.size();
        s.send(id, net::make_tx_block(std::move(p)));
    }
    void on_peer_closed(net::stack& s, net::connection_id id) override { s.close(id); }
    void on_closed(net::stack&, net::connection_id, net::close_reason) override {}
};

bool parse_prefix(const std::string& text, net::ipv4_address& addr, net::ipv4_address& mask) {
    auto slash = text.find('/');
    int bits = slash == std::string::npos ? 24 : std::atoi(text.c_str() + slash + 1);
    if (bits < 1 || bits > 32 || !net::ipv4_address::parse(text.substr(0, slash), addr)) {
        return false;
    }
    mask.value = bits == 32 ? 0xffffffffu : ~((1u << (32 - bits)) - 1);
    return true;
}

int usage() {
    std::fprintf(stderr, "usage: smbx-dpdk-echo --eal \"ARGS\" --address A/BITS [--gateway A] "
                         "[--port N] [--seconds N]\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    std::string eal, address;
    net::stack_config cfg;
    uint16_t listen_port = 7;
    long seconds = 60;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--eal") {
            eal = v;
        } else if (k == "--address") {
            address = v;
        } else if (k == "--gateway") {
            if (!net::ipv4_address::parse(v, cfg.gateway)) {
                return usage();
            }
        } else if (k == "--port") {
            listen_port = uint16_t(std::atoi(v.c_str()));
        } else if (k == "--seconds") {
            seconds = std::atol(v.c_str());
        } else {
            return usage();
        }
    }
    if (eal.empty() || !parse_prefix(address, cfg.address, cfg.netmask)) {
        return usage();
    }
    log::set_process_name("smbx-dpdk-echo");
    std::string error;
    if (!dpdk::init_eal(dpdk::split_args(eal), error)) {
        std::fprintf(stderr, "smbx-dpdk-echo: %s\n", error.c_str());
        return 1;
    }
    auto port = dpdk::port::open(0, dpdk::port_config{}, error);
    if (!port) {
        std::fprintf(stderr, "smbx-dpdk-echo: %s\n", error.c_str());
        return 1;
    }
    std::signal(SIGTERM, [](int) { g_stop = 1; });
    std::signal(SIGINT, [](int) { g_stop = 1; });

    // Received frames stay in their mbufs until the echo is acknowledged: keep the
    // window well inside the mbuf pool.
    cfg.receive_window = 512 * 1024;
    echo_service service;
    uint64_t outstanding_at_end = 0;
    dpdk::queue_nic nic(*port, 0);
    {
        net::stack stack(nic, cfg);
        stack.listen(listen_port, &service);
        std::printf("pool: %s\n", port->pool_layout().c_str());
        std::printf("ready: %s port %u on %s, mac %s\n", cfg.address.to_string().c_str(),
                    listen_port, port->driver().c_str(), port->mac().to_string().c_str());
        std::fflush(stdout);
        net::time_us end = monotonic_us() + net::time_us(seconds) * 1'000'000;
        net::time_us last_rx = monotonic_us(), last_report = 0;
        for (;;) {
            net::time_us now = monotonic_us();
            if (g_stop || now >= end) {
                break;
            }
            if (nic.poll_rx(stack, now) > 0) {
                last_rx = now;
            } else if (stack.connection_count() > 0 && now - last_rx > 1'000'000 &&
                       now - last_report > 1'000'000) {
                // Open connections but nothing received for a second: say why.
                last_report = now;
                std::printf("rx idle 1 s with %zu connection(s): %s\n%s", stack.connection_count(),
                            port->stats_line().c_str(), dpdk::af_xdp_probe().c_str());
                std::fflush(stdout);
            }
            stack.poll(now);
        }
        std::printf("port: %s\n%s", port->stats_line().c_str(), dpdk::af_xdp_probe().c_str());
        const auto& c = stack.counters();
        const auto& q = nic.counters();
        std::printf("counters: connections=%llu echoed_bytes=%llu open=%zu rx_frames=%llu "
                    "tx_frames=%llu retransmits=%llu fast_retransmits=%llu timeouts=%llu "
                    "out_of_order=%llu checksum_drops=%llu icmp_echo_replies=%llu "
                    "arp_replies=%llu tx_attached=%llu tx_copied=%llu tx_ring_full=%llu "
                    "rx_multi_segment_drops=%llu buffers_outstanding=%llu\n",
                    (unsigned long long)service.connections, (unsigned long long)service.bytes,
                    stack.connection_count(), (unsigned long long)q.rx_frames,
                    (unsigned long long)q.tx_frames, (unsigned long long)c.tcp_retransmits,
                    (unsigned long long)c.tcp_fast_retransmits, (unsigned long long)c.tcp_timeouts,
                    (unsigned long long)c.tcp_out_of_order, (unsigned long long)c.dropped_checksum,
                    (unsigned long long)c.icmp_echo_replies, (unsigned long long)c.arp_replies_sent,
                    (unsigned long long)q.tx_payload_attached,
                    (unsigned long long)q.tx_payload_copied, (unsigned long long)q.tx_ring_full,
                    (unsigned long long)q.rx_multi_segment_drops,
                    (unsigned long long)c.buffers_outstanding);
        outstanding_at_end = c.buffers_outstanding;
    }
    std::fflush(stdout);
    port.reset();
    return outstanding_at_end == 0 ? 0 : 3;
}
