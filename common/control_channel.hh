// The shared-memory segment between smbx-control and smbx-dataplane: the data plane's
// settings (plain values, written by control before the data plane starts) and two
// message rings, one each way. Wake-ups travel on two eventfds inherited by the data
// plane. Control creates the segment (memfd) and passes its fd number on the data
// plane's command line; a re-exec'd control finds it again in SMBX_CHANNEL_FD.
#pragma once

#include <cstdint>

#include "common/shm_ring.hh"

namespace smbx {

// Samba's `server signing` / `smb encrypt` values.
enum class signing_policy : uint8_t { disabled = 0, if_required = 1, enabled = 2, mandatory = 3 };
enum class encrypt_policy : uint8_t { off = 0, if_required = 1, desired = 2, required = 3 };
// What a data-plane worker does when it has no work (`idle policy`; runtime/worker.hh).
enum class idle_policy : uint8_t { adaptive = 0, poll = 1 };
// What carries SMB2 over TCP (`transport`): the kernel's TCP, or the user-space stack on
// a DPDK port (dataplane/dpdk/dpdk_transport.hh).
enum class transport_kind : uint8_t { tcp = 0, dpdk = 1 };

struct dataplane_settings {
    uint32_t workers = 1;
    uint16_t min_dialect = 0x0202; // MS-SMB2 2.2.3 dialect numbers
    uint16_t max_dialect = 0x0311;
    signing_policy signing = signing_policy::if_required;
    encrypt_policy encrypt = encrypt_policy::if_required;
    idle_policy idle = idle_policy::adaptive;
    uint8_t zero_copy_send = 2; // `zero copy send`: 0 no, 1 yes, 2 auto
    int32_t log_level = 1;
    uint8_t server_guid[16]{};
    char netbios_name[16]{};
    // SPNEGO negTokenInit2 for the NEGOTIATE response (built by control: it owns auth).
    uint32_t negotiate_token_length = 0;
    uint8_t negotiate_token[512]{};
    uint32_t listen_fd_count = 0; // listening sockets created by control, inherited
    int32_t listen_fds[16]{};
    uint32_t buffer_pool_mib = 128;
    // `transport = dpdk`: EAL arguments, the port, its IPv4 settings (host byte order)
    // and the SMB port the user-space stack listens on (the first of `smb ports`).
    transport_kind transport = transport_kind::tcp;
    uint8_t _pad_dpdk[1]{};
    uint16_t dpdk_port = 0;
    uint16_t dpdk_mtu = 1500;
    uint16_t smb_port = 445;
    uint32_t dpdk_address = 0;
    uint32_t dpdk_netmask = 0;
    uint32_t dpdk_gateway = 0;
    char dpdk_args[1024]{};
    // `dpdk impair` (a test mode): fractions in parts per million, and the PRNG seed.
    uint32_t dpdk_impair_drop_ppm = 0;
    uint32_t dpdk_impair_duplicate_ppm = 0;
    uint32_t dpdk_impair_reorder_ppm = 0;
    uint32_t _pad_impair = 0;
    uint64_t dpdk_impair_seed = 1;
    // SMB Direct: RDMA CM listeners on these IPv4 addresses (network byte order; the
    // `interfaces`) x ports; none when `smb direct = no`. The data plane skips an
    // address no RDMA device serves.
    uint32_t rdma_address_count = 0;
    uint32_t rdma_addresses[8]{};
    uint32_t rdma_port_count = 0;
    uint16_t rdma_ports[4]{};
    uint8_t multichannel = 1; // `server multi channel support`
    uint8_t leases = 1;       // `smb2 leases`: SMB2_GLOBAL_CAP_LEASING, RqLs honoured
};

struct control_channel_layout {
    static constexpr uint64_t magic_value = 0x31766e6863786273ULL; // "sbxchnv1"
    // Bumped whenever dataplane_settings or the layout changes shape.
    static constexpr uint32_t version_value = 7;
    uint64_t magic;
    uint32_t version;
    uint32_t dataplane_pid; // written by the data plane
    dataplane_settings settings;
    uint64_t to_control_offset;   // ring: data plane -> control
    uint64_t to_dataplane_offset; // ring: control -> data plane
    uint64_t total_size;
};

class control_channel {
public:
    static constexpr uint32_t slot_count = 256;
    static constexpr uint32_t slot_size = 16384; // fits a 16 KiB SPNEGO token

    // Control: create a new segment (memfd), format the rings. Returns false on error.
    bool create();
    // Either side: map an existing segment from its fd.
    bool attach(int fd);

    int fd() const { return _fd; }
    control_channel_layout& layout() { return *_layout; }
    shm_ring to_control() const { return _to_control; }
    shm_ring to_dataplane() const { return _to_dataplane; }

private:
    int _fd = -1;
    control_channel_layout* _layout = nullptr;
    shm_ring _to_control = shm_ring::attach(nullptr, 0, 0);
    shm_ring _to_dataplane = shm_ring::attach(nullptr, 0, 0);
};

} // namespace smbx
