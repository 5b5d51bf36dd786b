#include "dataplane/dpdk/dpdk_backend.hh"

#include <arpa/inet.h>
#include <cstring>

#include <rte_mempool.h>
#include <rte_version.h>

#include "common/log.hh"
#include "dataplane/dpdk/af_xdp_probe.hh"
#include "dataplane/dpdk/dpdk_port.hh"
#include "dataplane/dpdk/dpdk_transport.hh"

namespace smbx::dpdk {

namespace {

class dpdk_backend final : public transport_backend {
public:
    explicit dpdk_backend(const backend_context& context) : _context(context) {}
    ~dpdk_backend() override { stop(); }

    const char* name() const override { return "dpdk"; }

    bool listen() override {
        const dataplane_settings& settings = _context.settings;
        std::string args(settings.dpdk_args,
                         strnlen(settings.dpdk_args, sizeof settings.dpdk_args));
        std::string error;
        LOG_DEBUG("DPDK %s linked", rte_version());
        if (!init_eal(split_args(args), error)) {
            LOG_ERROR("dpdk: EAL initialisation failed (dpdk args = %s): %s", args.c_str(),
                      error.c_str());
            return false;
        }
        port_config pc;
        // Worker N polls queue pair N; the port spreads flows over them (dpdk_port.cc).
        pc.queues = uint16_t(_context.workers.size());
        pc.mtu = settings.dpdk_mtu;
        _port = port::open(settings.dpdk_port, pc, error);
        if (!_port) {
            LOG_ERROR("dpdk: port %u: %s", settings.dpdk_port, error.c_str());
            return false;
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
        for (size_t q = 0; q < _context.workers.size(); ++q) {
            _transports.push_back(std::make_unique<dpdk_transport>(
                *_port, uint16_t(q), sc, settings.smb_port, _context.events,
                *_context.workers[q]));
        }
        return true;
    }

    void start() override {
        std::vector<dpdk_transport*> peers;
        for (size_t q = 0; q < _transports.size(); ++q) {
            _context.workers[q]->add_poller(_transports[q].get());
            peers.push_back(_transports[q].get());
        }
        for (auto& t : _transports) {
            t->set_peers(peers);
        }
    }

    void stop() override {
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

    std::vector<uint32_t> listening_addresses() const override {
        return {htonl(_context.settings.dpdk_address)};
    }

private:
    backend_context _context;
    std::unique_ptr<port> _port;
    std::vector<std::unique_ptr<dpdk_transport>> _transports;
};

} // namespace

const transport_registration dpdk_transport_registration = {
    "dpdk",
    [](const dataplane_settings& s) { return s.transport == transport_kind::dpdk; },
    true,
    [](const backend_context& c) -> std::unique_ptr<transport_backend> {
        return std::make_unique<dpdk_backend>(c);
    },
};

} // namespace smbx::dpdk
