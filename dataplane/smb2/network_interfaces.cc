#include "dataplane/smb2/network_interfaces.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <fstream>
#include <ifaddrs.h>
#include <net/if.h>
#include <string>

namespace smbx::smb2 {

namespace {

std::vector<network_interface>& table() {
    static std::vector<network_interface> list;
    return list;
}

constexpr uint32_t rss_capable_flag = 0x00000001; // 2.2.32.5 Capability
constexpr uint32_t rdma_capable_flag = 0x00000002;
constexpr uint16_t inter_network = 0x0002; // SOCKADDR_STORAGE Family: IPv4
constexpr size_t sockaddr_storage_size = 128;

uint64_t link_speed_of(const char* name) {
    // Mb/s, or -1 for virtual devices without a speed (loopback, veth before 5.x).
    std::ifstream f(std::string("/sys/class/net/") + name + "/speed");
    long long mbps = -1;
    f >> mbps;
    return mbps > 0 ? uint64_t(mbps) * 1000000 : 0;
}

bool contains(const std::vector<uint32_t>& list, uint32_t a) {
    return std::find(list.begin(), list.end(), a) != list.end();
}

} // namespace

void set_network_interfaces(std::vector<network_interface> list) {
    table() = std::move(list);
}

const std::vector<network_interface>& network_interfaces() {
    return table();
}

bytes encode_network_interfaces(std::span<const network_interface> list) {
    byte_writer w;
    for (size_t i = 0; i < list.size(); ++i) {
        const auto& n = list[i];
        w.u32(i + 1 < list.size() ? uint32_t(network_interface_info_size) : 0); // Next
        w.u32(n.if_index);
        w.u32((n.rss_capable ? rss_capable_flag : 0) | (n.rdma_capable ? rdma_capable_flag : 0));
        w.u32(0); // Reserved
        w.u64(n.link_speed);
        // SOCKADDR_STORAGE (2.2.32.5.1): Family, then SOCKADDR_IN's Port (0),
        // IPv4Address (network order, as on the wire) and Reserved, zero-padded.
        w.u16(inter_network);
        w.u16(0);
        w.put(reinterpret_cast<const uint8_t*>(&n.ipv4), 4);
        w.zeros(sockaddr_storage_size - 8);
    }
    return w.take();
}

std::vector<network_interface> describe_addresses(const std::vector<uint32_t>& addresses,
                                                  const std::vector<uint32_t>& rdma_addresses,
                                                  bool rss_capable) {
    std::vector<network_interface> out;
    ifaddrs* all = nullptr;
    if (getifaddrs(&all) != 0) {
        return out;
    }
    const bool any = contains(addresses, 0);
    const bool rdma_any = contains(rdma_addresses, 0);
    for (ifaddrs* i = all; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) {
            continue;
        }
        uint32_t a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr;
        bool loopback = (i->ifa_flags & IFF_LOOPBACK) != 0;
        if (!(contains(addresses, a) || (any && !loopback))) {
            continue;
        }
        network_interface n;
        n.if_index = if_nametoindex(i->ifa_name);
        n.ipv4 = a;
        n.link_speed = link_speed_of(i->ifa_name);
        n.rdma_capable = contains(rdma_addresses, a) || (rdma_any && !loopback);
        n.rss_capable = rss_capable;
        out.push_back(n);
    }
    freeifaddrs(all);
    return out;
}

} // namespace smbx::smb2
