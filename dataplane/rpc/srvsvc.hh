// The srvsvc RPC interface (MS-SRVS), as much of it as share browsing needs:
// NetrShareEnum (smbclient -L, Explorer), NetrShareGetInfo and NetrServerGetInfo.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dataplane/rpc/dcerpc.hh"
#include "dataplane/rpc/named_pipe.hh"

namespace smbx::ipc_pipe {

// MS-SRVS 2.1 / 3.1.4: interface 4b324fc8-1670-01d3-1278-5a47bf6ee188 v3.0.
constexpr dcerpc::syntax_id srvsvc_syntax{
    dcerpc::uuid::from_fields(0x4b324fc8, 0x1670, 0x01d3,
                              {0x12, 0x78, 0x5a, 0x47, 0xbf, 0x6e, 0xe1, 0x88}),
    3, 0};

namespace srvsvc_opnum {
constexpr uint16_t share_enum = 15;      // NetrShareEnum (Samba: NetShareEnumAll)
constexpr uint16_t share_get_info = 16;  // NetrShareGetInfo
constexpr uint16_t server_get_info = 21; // NetrServerGetInfo
} // namespace srvsvc_opnum

// Win32 error codes returned as NET_API_STATUS (MS-ERREF 2.2).
namespace werr {
constexpr uint32_t ok = 0;
constexpr uint32_t not_enough_memory = 8;
constexpr uint32_t invalid_parameter = 87;
constexpr uint32_t invalid_level = 124;
constexpr uint32_t more_data = 234;
constexpr uint32_t net_name_not_found = 2310; // NERR_NetNameNotFound
} // namespace werr

// MS-SRVS 2.2.2.4 share types.
namespace stype {
constexpr uint32_t disktree = 0x00000000;
constexpr uint32_t ipc = 0x00000003;
constexpr uint32_t special = 0x80000000;
} // namespace stype

// MS-SRVS 2.2.4.29 SHI1005 flags we can state.
constexpr uint32_t shi1005_flags_encrypt_data = 0x00008000;

// MS-SRVS 2.2.2.6 / 2.2.2.7: server type bits and the NT platform id.
constexpr uint32_t sv_type_workstation = 0x00000001;
constexpr uint32_t sv_type_server = 0x00000002;
constexpr uint32_t sv_type_nt = 0x00001000;
constexpr uint32_t sv_type_server_nt = 0x00008000;
constexpr uint32_t platform_id_nt = 500;

// What the server says about itself (sv101_comment, the IPC$ remark).
constexpr std::string_view server_comment = "smbx";

class srvsvc final : public dcerpc::rpc_interface {
public:
    srvsvc(share_lister lister, std::string server_name);

    dcerpc::syntax_id abstract_syntax() const override { return srvsvc_syntax; }
    std::string_view secondary_address() const override { return "\\PIPE\\srvsvc"; }
    dcerpc::call_result call(uint16_t opnum, byte_span stub) override;

private:
    dcerpc::call_result share_enum(byte_span stub);
    dcerpc::call_result share_get_info(byte_span stub);
    dcerpc::call_result server_get_info(byte_span stub);

    share_lister _lister;
    std::string _server_name;
};

} // namespace smbx::ipc_pipe
