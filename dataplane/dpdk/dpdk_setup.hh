// `transport = dpdk` in the data plane: initialises the EAL from `dpdk args`, opens the
// configured port with one RX/TX queue pair per worker, and gives each worker a
// dpdk_transport on its queue pair. Owns all of it; destroy it after the workers stop.
#pragma once

#include <memory>
#include <vector>

#include "common/control_channel.hh"
#include "dataplane/dpdk/dpdk_port.hh"
#include "dataplane/dpdk/dpdk_transport.hh"

namespace smbx::dpdk {

class dpdk_setup {
public:
    // nullptr (with the reason logged) when EAL or the port cannot be brought up.
    static std::unique_ptr<dpdk_setup> create(const dataplane_settings& settings,
                                              transport_events& events,
                                              std::vector<std::unique_ptr<worker>>& workers);
    ~dpdk_setup();

private:
    dpdk_setup() = default;
    std::unique_ptr<port> _port;
    std::vector<std::unique_ptr<dpdk_transport>> _transports;
};

} // namespace smbx::dpdk
