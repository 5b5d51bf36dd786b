// The RDMA devices rdma-core sees (ibv_get_device_list). The data plane logs them at
// start-up; the SMB Direct transport will open them to listen and register memory.
#pragma once

#include <string>
#include <vector>

namespace smbx::rdma {

struct device_info {
    std::string name;      // e.g. rxe0, mlx5_0
    std::string node_guid; // hex, as ibv_devinfo prints it
};

std::vector<device_info> list_devices();

} // namespace smbx::rdma
