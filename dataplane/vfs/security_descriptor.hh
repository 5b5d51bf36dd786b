// NT security descriptors (MS-DTYP 2.4.6) of files and directories: the parsed form,
// the self-relative wire form, inheritance at create time (MS-DTYP 2.5.3.4), and their
// storage in the xattr user.smbx.ntacl, which holds the self-relative descriptor as it
// goes on the wire (validated on every read; an invalid one counts as absent).
//
// A file without a stored descriptor (one put on the share by other means, or the
// share root) gets a synthesized one: owner and group are the Unix SIDs of its owner
// and group (sid.hh) and the DACL grants full control to Everyone and SYSTEM,
// inheritable on directories. That is Samba acl_xattr's "everyone" default style plus
// SYSTEM, not its "posix" default: every smbx user reaches the file system as the
// server's one Unix identity, so owner/group/other bits derived from the mode would
// lock out all users alike. The server's own Unix permissions still bound what an open
// gets (create_file.cc), so this grants nothing the server could not do before.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "common/byte_codec.hh"
#include "dataplane/vfs/sid.hh"

struct stat;

namespace smbx::vfs {

// AdditionalInformation / SecurityInformation (MS-SMB2 2.2.37, MS-DTYP 2.4.7)
constexpr uint32_t owner_security_information = 0x00000001;
constexpr uint32_t group_security_information = 0x00000002;
constexpr uint32_t dacl_security_information = 0x00000004;
constexpr uint32_t sacl_security_information = 0x00000008;

// NT statuses of descriptor validation (MS-ERREF 2.3).
constexpr uint32_t status_invalid_owner = 0xC000005A;
constexpr uint32_t status_invalid_primary_group = 0xC000005B;
constexpr uint32_t status_invalid_security_descr = 0xC0000079;

// SECURITY_DESCRIPTOR Control (MS-DTYP 2.4.6)
constexpr uint16_t se_owner_defaulted = 0x0001;
constexpr uint16_t se_group_defaulted = 0x0002;
constexpr uint16_t se_dacl_present = 0x0004;
constexpr uint16_t se_dacl_defaulted = 0x0008;
constexpr uint16_t se_sacl_present = 0x0010;
constexpr uint16_t se_sacl_defaulted = 0x0020;
constexpr uint16_t se_dacl_auto_inherit_req = 0x0100;
constexpr uint16_t se_sacl_auto_inherit_req = 0x0200;
constexpr uint16_t se_dacl_auto_inherited = 0x0400;
constexpr uint16_t se_sacl_auto_inherited = 0x0800;
constexpr uint16_t se_dacl_protected = 0x1000;
constexpr uint16_t se_sacl_protected = 0x2000;
constexpr uint16_t se_self_relative = 0x8000;

// AceType (MS-DTYP 2.4.4.1): the ones whose body is Mask then Sid.
constexpr uint8_t access_allowed_ace_type = 0x00;
constexpr uint8_t access_denied_ace_type = 0x01;
constexpr uint8_t system_audit_ace_type = 0x02;

// AceFlags (MS-DTYP 2.4.4.1)
constexpr uint8_t object_inherit_ace = 0x01;
constexpr uint8_t container_inherit_ace = 0x02;
constexpr uint8_t no_propagate_inherit_ace = 0x04;
constexpr uint8_t inherit_only_ace = 0x08;
constexpr uint8_t inherited_ace = 0x10;

struct ace {
    uint8_t type = access_allowed_ace_type;
    uint8_t flags = 0;
    uint32_t mask = 0;
    sid trustee;
    // Types with a Mask+Sid body: bytes after the SID. Other types (object and
    // callback ACEs, labels): the whole body after the 4-byte header, kept as is.
    bytes tail;

    bool has_mask_and_sid() const { return type <= system_audit_ace_type; }
};

struct acl {
    uint8_t revision = 2; // ACL_REVISION; 4 (ACL_REVISION_DS) is kept as given
    std::vector<ace> aces;
};

struct security_descriptor {
    uint16_t control = se_self_relative;
    std::optional<sid> owner;
    std::optional<sid> group;
    // With SE_DACL_PRESENT, nullopt is a NULL DACL (everyone gets everything);
    // without it there is no DACL at all.
    std::optional<acl> dacl;
    std::optional<acl> sacl;

    bool dacl_present() const { return control & se_dacl_present; }
};

struct descriptor_parse {
    uint32_t status = 0; // SUCCESS, INVALID_PARAMETER or INVALID_SECURITY_DESCR
    security_descriptor sd;
};

// Parses a self-relative descriptor; every offset and count is bounds-checked.
descriptor_parse parse_security_descriptor(byte_span data);
// The self-relative form with the parts `information` names (the control bits of
// absent parts cleared), as QUERY_INFO returns it (MS-SMB2 3.3.5.20.3).
bytes encode_security_descriptor(const security_descriptor& sd,
                                 uint32_t information = owner_security_information |
                                                        group_security_information |
                                                        dacl_security_information |
                                                        sacl_security_information);

// Replaces the parts `information` names in `stored` with those of `given`
// (MS-SMB2 3.3.5.21.3, MS-FSA 2.1.5.16): SUCCESS, INVALID_OWNER or
// INVALID_PRIMARY_GROUP. A DACL part without SE_DACL_PRESENT sets a NULL DACL.
uint32_t merge_security_descriptor(security_descriptor& stored, const security_descriptor& given,
                                   uint32_t information);

// The synthesized descriptor of a file without a stored one (see above).
security_descriptor default_security_descriptor(uint32_t uid, uint32_t gid, bool directory);

// The descriptor of a new file or directory (MS-DTYP 2.5.3.4.1): owner and group
// from `given` (the SecD create context) or the creator's; the DACL from `given` when
// it has one, else the ACEs inherited from `parent` (2.5.3.4.2: CONTAINER_INHERIT,
// OBJECT_INHERIT, INHERIT_ONLY, NO_PROPAGATE; CREATOR OWNER/GROUP become the owner
// and group, generic rights are mapped), else full control for the owner and SYSTEM
// (a Windows token's default DACL). SACLs are not inherited.
security_descriptor create_child_descriptor(const security_descriptor& parent,
                                            const security_descriptor* given, bool directory,
                                            const sid& owner, const sid& group);

// Storage in user.smbx.ntacl. load: nullopt when the file has none or an invalid one.
// store: 0 or an errno (ENOTSUP: no user xattrs on this file system).
std::optional<security_descriptor> load_security_descriptor(int fd);
int store_security_descriptor(int fd, const security_descriptor& sd);
// The stored descriptor of an open file, or the synthesized default.
security_descriptor effective_security_descriptor(int fd);
// SET_INFO SMB2_0_INFO_SECURITY (MS-SMB2 3.3.5.21.3) once access is checked: parses
// `buffer`, merges the parts `information` names into the file's descriptor and
// stores it. INVALID_PARAMETER / INVALID_SECURITY_DESCR for a malformed buffer.
uint32_t set_security_descriptor(int fd, uint32_t information, byte_span buffer);

} // namespace smbx::vfs
