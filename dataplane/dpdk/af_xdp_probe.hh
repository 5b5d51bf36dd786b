// What the kernel says about this process's AF_XDP sockets (net_af_xdp's queues):
// XDP_STATISTICS and the four rings' producer/consumer indices and need_wakeup flags,
// read through a second read-only mapping of each ring. The PMD exposes neither; they
// are what tells a stalled receive from a stalled send (README "Known gaps").
#pragma once

#include <string>

namespace smbx::dpdk {

// One line per AF_XDP socket found among the process's descriptors; empty if none.
std::string af_xdp_probe();

} // namespace smbx::dpdk
