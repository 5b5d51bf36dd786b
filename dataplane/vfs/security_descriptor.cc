#include "dataplane/vfs/security_descriptor.hh"

#include <vector>

namespace smbx::vfs {

namespace {

constexpr uint16_t se_dacl_present = 0x0004;
constexpr uint16_t se_self_relative = 0x8000;

// A SID (MS-DTYP 2.4.2.2): revision, count, 48-bit big-endian authority, sub-authorities.
bytes sid(uint8_t authority, std::vector<uint32_t> subs) {
    byte_writer w;
    w.u8(1);
    w.u8(uint8_t(subs.size()));
    w.zeros(5);
    w.u8(authority);
    for (auto s : subs) {
        w.u32(s);
    }
    return w.take();
}

} // namespace

bytes build_security_descriptor(uint32_t uid, uint32_t gid, uint32_t everyone_access,
                                uint32_t additional_information) {
    bool owner = additional_information & owner_security_information;
    bool group = additional_information & group_security_information;
    bool dacl = additional_information & dacl_security_information;
    byte_writer w;
    w.u8(1); // Revision
    w.u8(0); // Sbz1
    w.u16(se_self_relative | (dacl ? se_dacl_present : 0));
    size_t offsets = w.reserve(16); // Owner, Group, Sacl, Dacl
    if (owner) {
        w.patch_u32(offsets, uint32_t(w.size()));
        w.put(sid(22, {1, uid}));
    }
    if (group) {
        w.patch_u32(offsets + 4, uint32_t(w.size()));
        w.put(sid(22, {2, gid}));
    }
    if (dacl) {
        w.patch_u32(offsets + 12, uint32_t(w.size()));
        bytes everyone = sid(1, {0});
        uint16_t ace_size = uint16_t(8 + everyone.size());
        w.u8(2); // AclRevision
        w.u8(0);
        w.u16(uint16_t(8 + ace_size)); // AclSize
        w.u16(1);                      // AceCount
        w.u16(0);
        w.u8(0); // ACCESS_ALLOWED_ACE_TYPE
        w.u8(0); // AceFlags
        w.u16(ace_size);
        w.u32(everyone_access);
        w.put(everyone);
    }
    return w.take();
}

} // namespace smbx::vfs
