// The server's network interfaces as FSCTL_QUERY_NETWORK_INTERFACE_INFO reports them
// (MS-SMB2 2.2.32.5, 3.3.5.15.11): how a client learns which addresses offer SMB Direct
// (RDMA_CAPABLE). The data plane fills the list once at start, before it serves
// anyone; handlers only read it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/byte_codec.hh"

namespace smbx::smb2 {

struct network_interface {
    uint32_t if_index = 0;
    uint32_t ipv4 = 0;       // network byte order
    uint64_t link_speed = 0; // bits per second (0: unknown)
    bool rdma_capable = false;
    bool rss_capable = false;
};

void set_network_interfaces(std::vector<network_interface> list);
const std::vector<network_interface>& network_interfaces();

// One NETWORK_INTERFACE_INFO per interface, chained by Next (0 in the last).
bytes encode_network_interfaces(std::span<const network_interface> list);
constexpr size_t network_interface_info_size = 152;

// The interfaces behind `addresses` (IPv4, network byte order; 0.0.0.0 stands for every
// non-loopback IPv4 address), from getifaddrs and /sys/class/net/<name>/speed; those
// in `rdma_addresses` (or all, when it holds 0.0.0.0) are RDMA_CAPABLE. `rss_capable`:
// the server spreads one interface's connections over several cores (workers > 1), so
// a client gains from several channels on it (2.2.32.5; Linux cifs opens a second
// channel to an interface it already uses only when it is RSS_CAPABLE).
std::vector<network_interface> describe_addresses(const std::vector<uint32_t>& addresses,
                                                  const std::vector<uint32_t>& rdma_addresses,
                                                  bool rss_capable = false);

} // namespace smbx::smb2
