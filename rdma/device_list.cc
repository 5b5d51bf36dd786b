#include "rdma/device_list.hh"

#include <cstdio>
#include <endian.h>
#include <infiniband/verbs.h>

namespace smbx::rdma {

std::vector<device_info> list_devices() {
    std::vector<device_info> out;
    int n = 0;
    ibv_device** list = ibv_get_device_list(&n);
    if (!list) {
        return out;
    }
    for (int i = 0; i < n; ++i) {
        device_info d;
        d.name = ibv_get_device_name(list[i]);
        uint64_t guid = be64toh(ibv_get_device_guid(list[i]));
        char buf[24];
        snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(guid));
        d.node_guid = buf;
        out.push_back(std::move(d));
    }
    ibv_free_device_list(list);
    return out;
}

} // namespace smbx::rdma
