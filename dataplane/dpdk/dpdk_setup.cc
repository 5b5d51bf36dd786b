#include "dataplane/dpdk/dpdk_setup.hh"

#include <cstring>

#include <rte_mempool.h>

#include "common/log.hh"
#include "dataplane/dpdk/af_xdp_probe.hh"

namespace smbx::dpdk {

std::unique_ptr<dpdk_setup> dpdk_setup::create(const dataplane_settings& settings,
                                               transport_events& events,
                                               std::vector<std::unique_ptr<worker>>& workers) {
    std::string args(settings.dpdk_args, strnlen(settings.dpdk_args, sizeof settings.dpdk_args));
    std::string error;
    if (!init_eal(split_args(args), error)) {
        LOG_ERROR("dpdk: EAL initialisation failed (dpdk args = %s): %s", args.c_str(),
                  error.c_str());
        return nullptr;
    }
    std::unique_ptr<dpdk_setup> s(new dpdk_setup);
    port_config pc;
    // Worker N polls queue pair N; the port spreads flows over them (dpdk_port.cc).
    pc.queues = uint16_t(workers.size());
    pc.mtu = settings.dpdk_mtu;
    s->_port = port::open(settings.dpdk_port, pc, error);
    if (!s->_port) {
        LOG_ERROR("dpdk: port %u: %s", settings.dpdk_port, error.c_str());
        return nullptr;
    }
    net::stack_config sc;
    sc.address.value = settings.dpdk_address;
    sc.netmask.value = settings.dpdk_netmask;
    sc.gateway.value = settings.dpdk_gateway;
    sc.mtu = settings.dpdk_mtu;
    sc.impair.drop = settings.dpdk_impair_drop_ppm / 1e6;
    sc.impair.duplicate = settings.dpdk_impair_duplicate_ppm / 1e6;
    sc.impair.reorder = settings.dpdk_impair_reorder_ppm / 1e6;
    sc.impair.seed = settings.dpdk_impair_seed;
    for (size_t q = 0; q < workers.size(); ++q) {
        s->_transports.push_back(std::make_unique<dpdk_transport>(
            *s->_port, uint16_t(q), sc, settings.smb_port, events, *workers[q]));
        workers[q]->add_poller(s->_transports.back().get());
    }
    std::vector<dpdk_transport*> peers;
    for (auto& t : s->_transports) {
        peers.push_back(t.get());
    }
    for (auto& t : s->_transports) {
        t->set_peers(peers);
    }
    return s;
}

dpdk_setup::~dpdk_setup() {
    _transports.clear(); // frees their mbufs before the port's pool goes
    // Mbufs still out of the pool once every stack is gone are held by the PMD (its
    // rings) or leaked: a figure for diagnosing RX stalls.
    if (rte_mempool* pool = _port ? _port->pool() : nullptr) {
        LOG_NOTICE("dpdk: mbuf pool: %u of %u in use after the stacks stopped",
                   rte_mempool_in_use_count(pool), pool->size);
        LOG_NOTICE("dpdk: port %u: %s", _port->id(), _port->stats_line().c_str());
        std::string xsk = af_xdp_probe();
        if (!xsk.empty()) {
            xsk.pop_back(); // the last newline
            LOG_NOTICE("dpdk: %s", xsk.c_str());
        }
    }
    _port.reset();
}

} // namespace smbx::dpdk
