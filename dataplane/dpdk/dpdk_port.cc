#include "dataplane/dpdk/dpdk_port.hh"

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "common/log.hh"

namespace smbx::dpdk {

namespace {

constexpr uint16_t burst_size = 32;

int g_eal_result = 1; // 1: not initialised yet
std::string g_eal_error;

void free_mbuf(void* m) {
    rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
}

// An external buffer's shared info, one per attached fragment: when the PMD frees the
// mbuf, DPDK calls free_external, which drops the fragment's tx_block reference.
struct external_hold {
    rte_mbuf_ext_shared_info info;
    net::tx_block* block;
};

void free_external(void*, void* opaque) {
    auto* h = static_cast<external_hold*>(opaque);
    h->block->drop();
    delete h;
}

rte_iova_t iova_of(const void* p) {
    // af_packet/af_xdp/tap copy from virtual addresses. A NIC that DMAs needs the
    // memory registered (rte_extmem_register + rte_dev_dma_map); the buffer pool is
    // where that belongs.
    if (rte_eal_iova_mode() == RTE_IOVA_VA) {
        return rte_iova_t(reinterpret_cast<uintptr_t>(p));
    }
    return rte_mem_virt2iova(p);
}

struct object_span {
    uintptr_t first = UINTPTR_MAX, end = 0;
};

void widen_span(rte_mempool* mp, void* arg, void* obj, unsigned) {
    auto* span = static_cast<object_span*>(arg);
    uintptr_t start = uintptr_t(obj) - mp->header_size;
    span->first = std::min(span->first, start);
    span->end = std::max(span->end, uintptr_t(obj) + mp->elt_size + mp->trailer_size);
}

// The mbuf pool. net_af_xdp turns the pool into its UMEM, registering
// populated_size * object size bytes from the first object on (drivers/net/af_xdp,
// xdp_umem_configure): it assumes the objects lie back to back. An mbuf pool keeps
// objects inside a page when pages are not IOVA-contiguous, so with --no-huge (4 KiB
// pages) each 2368-byte mbuf got a page of its own and 42% of them lay past the UMEM's
// end: the kernel counted their TX descriptors as invalid and dropped the frames
// (tx_invalid_descs), and after some thousand frames the TCP flow stalled. For af_xdp
// the objects are therefore made exactly one page (or a divisor of a hugepage) long,
// without the channel-spreading pad, so they tile the memory with no gap.
rte_mempool* create_pool(const std::string& name, uint32_t count, bool tile_pages, int socket) {
    if (!tile_pages) {
        return rte_pktmbuf_pool_create(name.c_str(), count, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                       socket);
    }
    const unsigned flags = RTE_MEMPOOL_F_NO_SPREAD;
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    size_t overhead = rte_mempool_calc_obj_size(sizeof(rte_mbuf), flags, nullptr);
    auto data_room = uint16_t(page - overhead);
    rte_mempool* mp =
        rte_mempool_create_empty(name.c_str(), count, sizeof(rte_mbuf) + data_room, 256,
                                 sizeof(rte_pktmbuf_pool_private), socket, flags);
    if (!mp) {
        return nullptr;
    }
    rte_pktmbuf_pool_private priv{};
    priv.mbuf_data_room_size = data_room;
    if (rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), nullptr) != 0) {
        rte_mempool_free(mp);
        return nullptr;
    }
    rte_pktmbuf_pool_init(mp, &priv);
    if (rte_mempool_populate_default(mp) < 0) {
        rte_mempool_free(mp);
        return nullptr;
    }
    rte_mempool_obj_iter(mp, rte_pktmbuf_init, nullptr);
    return mp;
}

// True if the pool's objects lie back to back in one chunk (what af_xdp's UMEM needs).
bool pool_is_packed(rte_mempool* mp) {
    object_span span;
    rte_mempool_obj_iter(mp, widen_span, &span);
    size_t obj = rte_mempool_calc_obj_size(mp->elt_size, mp->flags, nullptr);
    return mp->nb_mem_chunks == 1 && span.end - span.first == size_t(mp->populated_size) * obj;
}

} // namespace

std::vector<std::string> split_args(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string word;
    while (in >> word) {
        out.push_back(word);
    }
    return out;
}

bool init_eal(const std::vector<std::string>& args, std::string& error) {
    if (g_eal_result == 1) {
        std::vector<std::string> all{"smbx"};
        all.insert(all.end(), args.begin(), args.end());
        std::vector<char*> argv;
        for (auto& a : all) {
            argv.push_back(a.data());
        }
        argv.push_back(nullptr);
        int r = rte_eal_init(int(all.size()), argv.data());
        if (r < 0) {
            g_eal_result = -1;
            g_eal_error = std::string("rte_eal_init: ") + rte_strerror(rte_errno);
        } else if (rte_eth_dev_count_avail() == 0) {
            // Seen unprivileged outside a user namespace: EAL succeeds with no ports.
            g_eal_result = -1;
            g_eal_error = "EAL found no Ethernet port (check --vdev/PCI and privileges)";
        } else {
            g_eal_result = 0;
        }
    }
    error = g_eal_error;
    return g_eal_result == 0;
}

std::unique_ptr<port> port::open(uint16_t port_id, const port_config& config, std::string& error) {
    std::unique_ptr<port> p(new port());
    p->_id = port_id;
    p->_queues = config.queues;
    rte_eth_dev_info info{};
    if (!rte_eth_dev_is_valid_port(port_id) || rte_eth_dev_info_get(port_id, &info) != 0) {
        error = "no DPDK port " + std::to_string(port_id);
        return nullptr;
    }
    p->_driver = info.driver_name ? info.driver_name : "?";
    if (config.queues > info.max_rx_queues || config.queues > info.max_tx_queues) {
        error = "port " + std::to_string(port_id) + " (" + p->_driver + ") has at most " +
                std::to_string(std::min(info.max_rx_queues, info.max_tx_queues)) + " queues";
        return nullptr;
    }
    rte_eth_conf conf{};
    if (config.queues > 1) {
        // RSS spreads flows over the workers' queues. Whether or not the NIC keeps a
        // flow on one queue (af_packet's fanout rolls frames over to another socket when
        // one is busy), each worker hands segments it does not own to the owner
        // (net/flow_steering.hh, dpdk_transport_peers.cc).
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf =
            (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
    }
    p->_tx_multi_segment = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
    if (p->_tx_multi_segment) {
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    }
    int r = rte_eth_dev_configure(port_id, config.queues, config.queues, &conf);
    if (r != 0) {
        error = std::string("rte_eth_dev_configure: ") + rte_strerror(-r);
        return nullptr;
    }
    uint16_t nrx = config.rx_descriptors, ntx = config.tx_descriptors;
    rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nrx, &ntx);
    std::string pool_name = "smbx_pool_" + std::to_string(port_id);
    int socket = rte_eth_dev_socket_id(port_id);
    const bool af_xdp = p->_driver == "net_af_xdp";
    p->_pool = create_pool(pool_name, config.mbufs, af_xdp, socket < 0 ? 0 : socket);
    if (!p->_pool) {
        error = std::string("mbuf pool: ") + rte_strerror(rte_errno);
        return nullptr;
    }
    if (af_xdp && !pool_is_packed(p->_pool)) {
        // Some mbufs would lie outside the UMEM: refuse rather than stall later.
        error = "mbuf pool for net_af_xdp is not one gapless chunk (" + p->pool_layout() + ")";
        return nullptr;
    }
    for (uint16_t q = 0; q < config.queues; ++q) {
        r = rte_eth_rx_queue_setup(port_id, q, nrx, socket, nullptr, p->_pool);
        if (r == 0) {
            r = rte_eth_tx_queue_setup(port_id, q, ntx, socket, nullptr);
        }
        if (r != 0) {
            error = "queue setup: " + std::string(rte_strerror(-r));
            return nullptr;
        }
    }
    if (config.mtu != 1500) {
        rte_eth_dev_set_mtu(port_id, config.mtu);
    }
    r = rte_eth_dev_start(port_id);
    if (r != 0) {
        error = std::string("rte_eth_dev_start: ") + rte_strerror(-r);
        return nullptr;
    }
    p->_started = true;
    rte_ether_addr addr{};
    rte_eth_macaddr_get(port_id, &addr);
    std::memcpy(p->_mac.bytes.data(), addr.addr_bytes, 6);
    LOG_NOTICE("dpdk: port %u (%s) mac %s, %u queue pair(s), tx %s", port_id, p->_driver.c_str(),
               p->_mac.to_string().c_str(), config.queues,
               p->_tx_multi_segment ? "multi-segment (payload attached)" : "single-segment");
    LOG_NOTICE("dpdk: port %u pool: %s", port_id, p->pool_layout().c_str());
    return p;
}

port::~port() {
    if (_started) {
        rte_eth_dev_stop(_id);
        rte_eth_dev_close(_id);
    }
    // The pool is left to EAL cleanup: mbufs may still be held by stacks being torn down.
}

std::string port::pool_layout() const {
    object_span span;
    rte_mempool_obj_iter(_pool, widen_span, &span);
    size_t obj = rte_mempool_calc_obj_size(_pool->elt_size, _pool->flags, nullptr);
    char line[200];
    std::snprintf(line, sizeof line,
                  "%u mbufs of %zu bytes in %u chunk(s), spanning %zu bytes (packed: %zu)",
                  _pool->populated_size, obj, _pool->nb_mem_chunks, size_t(span.end - span.first),
                  size_t(_pool->populated_size) * obj);
    return line;
}

std::string port::stats_line() const {
    rte_eth_stats st{};
    rte_eth_stats_get(_id, &st);
    char line[320];
    std::snprintf(line, sizeof line,
                  "ipackets=%llu opackets=%llu imissed=%llu ierrors=%llu oerrors=%llu "
                  "rx_nombuf=%llu mbufs_free=%u mbufs_in_use=%u",
                  (unsigned long long)st.ipackets, (unsigned long long)st.opackets,
                  (unsigned long long)st.imissed, (unsigned long long)st.ierrors,
                  (unsigned long long)st.oerrors, (unsigned long long)st.rx_nombuf,
                  _pool ? rte_mempool_avail_count(_pool) : 0,
                  _pool ? rte_mempool_in_use_count(_pool) : 0);
    return line;
}

size_t queue_nic::poll_rx(net::frame_receiver& to, net::time_us now) {
    rte_mbuf* mbufs[burst_size];
    uint16_t n = rte_eth_rx_burst(_port.id(), _queue, mbufs, burst_size);
    for (uint16_t i = 0; i < n; ++i) {
        rte_mbuf* m = mbufs[i];
        if (m->nb_segs != 1) {
            ++_counters.rx_multi_segment_drops;
            rte_pktmbuf_free(m);
            continue;
        }
        ++_counters.rx_frames;
        to.receive(net::packet_buffer(rte_pktmbuf_mtod(m, uint8_t*), m->data_len, free_mbuf, m),
                   now);
    }
    return n;
}

size_t queue_nic::send_burst(std::span<const net::tx_frame> frames) {
    size_t done = 0;
    while (done < frames.size()) {
        rte_mbuf* mbufs[burst_size];
        uint16_t n = 0;
        for (; n < burst_size && done + n < frames.size(); ++n) {
            const net::tx_frame& f = frames[done + n];
            rte_mbuf* m = rte_pktmbuf_alloc(_port.pool());
            if (!m) {
                ++_counters.tx_alloc_failures;
                break;
            }
            std::memcpy(rte_pktmbuf_append(m, f.header_size), f.header.data(), f.header_size);
            for (size_t i = 0; i < f.fragment_count; ++i) {
                const net::tx_fragment& frag = f.payload[i];
                rte_mbuf* ext =
                    _port.tx_multi_segment() ? rte_pktmbuf_alloc(_port.pool()) : nullptr;
                if (!ext) {
                    // Copy: the header mbuf has room for a full frame.
                    std::memcpy(rte_pktmbuf_append(m, uint16_t(frag.size)), frag.data, frag.size);
                    ++_counters.tx_payload_copied;
                    continue;
                }
                auto* hold = new external_hold{};
                hold->block = frag.block;
                hold->info.free_cb = free_external;
                hold->info.fcb_opaque = hold;
                rte_mbuf_ext_refcnt_set(&hold->info, 1);
                frag.block->hold();
                void* addr = const_cast<uint8_t*>(frag.data);
                rte_pktmbuf_attach_extbuf(ext, addr, iova_of(addr), uint16_t(frag.size),
                                          &hold->info);
                ext->data_len = uint16_t(frag.size);
                ext->pkt_len = frag.size;
                if (rte_pktmbuf_chain(m, ext) != 0) {
                    rte_pktmbuf_free(ext);
                    std::memcpy(rte_pktmbuf_append(m, uint16_t(frag.size)), frag.data, frag.size);
                    ++_counters.tx_payload_copied;
                    continue;
                }
                ++_counters.tx_payload_attached;
            }
            mbufs[n] = m;
        }
        uint16_t sent = n ? rte_eth_tx_burst(_port.id(), _queue, mbufs, n) : 0;
        for (uint16_t i = sent; i < n; ++i) {
            rte_pktmbuf_free(mbufs[i]);
        }
        _counters.tx_frames += sent;
        done += sent;
        if (sent < n || n == 0) {
            _counters.tx_ring_full += frames.size() - done;
            break;
        }
    }
    return done;
}

} // namespace smbx::dpdk
