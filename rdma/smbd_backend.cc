#include "rdma/smbd_backend.hh"

#include <arpa/inet.h>

#include "common/log.hh"
#include "rdma/device_list.hh"
#include "rdma/smbd_transport.hh"

namespace smbx::rdma {

namespace {

class smbd_backend final : public transport_backend {
public:
    smbd_backend(const backend_context& context, smbd_transport_settings settings)
        : _context(context), _settings(std::move(settings)) {}
    ~smbd_backend() override { stop(); }

    const char* name() const override { return "smbdirect"; }

    bool listen() override {
        // One per worker; the first one's listens (one RDMA CM listener per address x
        // port can exist). The pool is registered with each device once, when its first
        // client comes in.
        for (worker* w : _context.workers) {
            _transports.push_back(std::make_unique<smbd_transport>(_settings, _context.events, w));
        }
        if (!_transports.front()->listen()) {
            LOG_NOTICE("SMB Direct: no listener could be set up; serving TCP only");
            _transports.clear();
            return false;
        }
        return true;
    }

    void start() override {
        std::vector<smbd_transport*> group;
        for (size_t i = 0; i < _transports.size(); ++i) {
            group.push_back(_transports[i].get());
            _context.workers[i]->add_poller(_transports[i].get());
        }
        _transports.front()->set_group(group);
    }

    void stop() override {
        // Followers first: their queue pairs live in the listener's protection domains.
        while (!_transports.empty()) {
            _transports.pop_back();
        }
    }

    std::vector<uint32_t> listening_addresses() const override {
        return _transports.empty() ? std::vector<uint32_t>{}
                                   : _transports.front()->listening_addresses();
    }
    bool supports_rdma_channel() const override { return true; }

private:
    backend_context _context;
    smbd_transport_settings _settings;
    std::vector<std::unique_ptr<smbd_transport>> _transports;
};

std::unique_ptr<transport_backend> create(const backend_context& context) {
    auto devices = list_devices();
    for (const auto& d : devices) {
        LOG_INFO("RDMA device %s (node GUID %s)", d.name.c_str(), d.node_guid.c_str());
    }
    if (devices.empty() || context.workers.empty()) {
        LOG_INFO("SMB Direct: no RDMA device visible; serving TCP only");
        return nullptr;
    }
    const dataplane_settings& s = context.settings;
    smbd_transport_settings rs;
    rs.addresses.clear();
    for (uint32_t i = 0; i < std::min<uint32_t>(s.rdma_address_count, 8); ++i) {
        char text[INET_ADDRSTRLEN];
        in_addr a{s.rdma_addresses[i]};
        rs.addresses.push_back(inet_ntop(AF_INET, &a, text, sizeof text));
    }
    rs.ports.assign(s.rdma_ports, s.rdma_ports + std::min<uint32_t>(s.rdma_port_count, 4));
    rs.pool_region = context.pool.region();
    rs.pool_size = context.pool.region_size();
    return std::make_unique<smbd_backend>(context, std::move(rs));
}

} // namespace

const transport_registration smbd_transport_registration = {
    "smbdirect",
    [](const dataplane_settings& s) { return s.rdma_address_count && s.rdma_port_count; },
    false,
    create,
};

} // namespace smbx::rdma
