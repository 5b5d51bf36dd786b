// The `[global]` parameters of the DPDK transport (`transport = dpdk`), kept apart from
// config.cc's general parser: transport, dpdk args, dpdk ports, dpdk address,
// dpdk netmask, dpdk gateway, dpdk mtu, and the test mode `dpdk impair`.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/control_channel.hh"

namespace smbx::config {

struct dpdk_config {
    transport_kind transport = transport_kind::tcp;
    std::string args;     // EAL arguments, e.g. "--no-pci --vdev net_af_xdp0,iface=eth1"
    uint16_t port = 0;    // DPDK port id
    std::string address;  // dotted quad served by the user-space stack
    uint32_t netmask = 0; // host byte order; 0: from the address's /prefix (default /24)
    std::string gateway;  // empty: only the local subnet is reachable
    uint16_t mtu = 1500;
    // `dpdk impair = drop F dup F reorder F [seed N]`: a TEST MODE that drops,
    // duplicates and reorders these fractions of the frames each way between the port
    // and the stack (dataplane/net/impaired_nic.hh). Zero: off.
    double impair_drop = 0;
    double impair_duplicate = 0;
    double impair_reorder = 0;
    uint64_t impair_seed = 1;
    bool impaired() const { return impair_drop > 0 || impair_duplicate > 0 || impair_reorder > 0; }
};

enum class param_result { not_mine, ok, bad };

// Handles `key` (normalised: lower case, no blanks) if it is one of the parameters
// above; on `bad`, `message` says why.
param_result dpdk_param(dpdk_config& c, const std::string& key, std::string_view value,
                        std::string& message);
bool is_dpdk_key(const std::string& key);
// After parsing: what `transport = dpdk` needs; empty when consistent.
std::string check_dpdk(const dpdk_config& c);
// Host byte order IPv4 (0 when `dotted` is empty or not an address).
uint32_t ipv4_host_order(const std::string& dotted);

} // namespace smbx::config
