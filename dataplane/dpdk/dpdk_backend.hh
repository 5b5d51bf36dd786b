// `transport = dpdk`: initialises the EAL from `dpdk args`, opens the configured port
// with one RX/TX queue pair per worker, and gives each worker a dpdk_transport on its
// queue pair. Flows are placed on workers by the port's RSS and the flow steering
// (dpdk_transport_peers.cc), not by connection placement.
#pragma once

#include "dataplane/runtime/transport.hh"

namespace smbx::dpdk {

extern const transport_registration dpdk_transport_registration;

} // namespace smbx::dpdk
