// A minimal self-relative security descriptor (MS-DTYP 2.4.6) for QUERY_INFO
// SMB2_0_INFO_SECURITY: owner S-1-22-1-<uid> and group S-1-22-2-<gid> (the Unix
// user/group SID forms Samba uses) and a DACL with one ACE allowing Everyone the
// access the share permits. There are no real ACLs behind it, and SACLs are never
// returned; SET_INFO of a security descriptor is accepted and ignored.
#pragma once

#include <cstdint>

#include "common/byte_codec.hh"

namespace smbx::vfs {

constexpr uint32_t owner_security_information = 0x00000001;
constexpr uint32_t group_security_information = 0x00000002;
constexpr uint32_t dacl_security_information = 0x00000004;
constexpr uint32_t sacl_security_information = 0x00000008;

bytes build_security_descriptor(uint32_t uid, uint32_t gid, uint32_t everyone_access,
                                uint32_t additional_information);

} // namespace smbx::vfs
