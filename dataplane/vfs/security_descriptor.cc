#include "dataplane/vfs/security_descriptor.hh"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <cerrno>
#include <string>

#include "common/ntstatus.hh"
#include "dataplane/vfs/access.hh"

namespace smbx::vfs {

namespace {

constexpr const char* ntacl_xattr = "user.smbx.ntacl";
constexpr size_t descriptor_header_size = 20;
constexpr size_t acl_header_size = 8;
constexpr size_t ace_header_size = 4;
constexpr size_t max_stored_size = 64 * 1024;

constexpr uint16_t dacl_control_bits =
    se_dacl_present | se_dacl_defaulted | se_dacl_auto_inherited | se_dacl_protected;
constexpr uint16_t sacl_control_bits =
    se_sacl_present | se_sacl_defaulted | se_sacl_auto_inherited | se_sacl_protected;

// An ACL (MS-DTYP 2.4.5) at `offset`: AclSize bounds its ACEs, each ACE's AceSize
// bounds its body (2.4.4.1).
std::optional<acl> parse_acl(byte_span data, uint32_t offset) {
    byte_reader whole(data);
    byte_span header = whole.at(offset, acl_header_size);
    if (!whole.ok()) {
        return std::nullopt;
    }
    byte_reader h(header);
    acl out;
    out.revision = h.u8();
    h.u8(); // Sbz1
    uint16_t size = h.u16();
    uint16_t count = h.u16();
    if ((out.revision != 2 && out.revision != 4) || size < acl_header_size) {
        return std::nullopt;
    }
    byte_span body = whole.at(offset, size);
    if (!whole.ok()) {
        return std::nullopt;
    }
    byte_reader r(body);
    r.seek(acl_header_size);
    for (uint16_t i = 0; i < count; ++i) {
        ace a;
        a.type = r.u8();
        a.flags = r.u8();
        uint16_t ace_size = r.u16();
        if (!r.ok() || ace_size < ace_header_size) {
            return std::nullopt;
        }
        byte_reader b(r.take(ace_size - ace_header_size));
        if (!r.ok()) {
            return std::nullopt;
        }
        if (a.has_mask_and_sid()) {
            a.mask = b.u32();
            auto s = read_sid(b);
            if (!s) {
                return std::nullopt;
            }
            a.trustee = std::move(*s);
        }
        auto rest = b.take(b.remaining());
        a.tail.assign(rest.begin(), rest.end());
        out.aces.push_back(std::move(a));
    }
    return out;
}

std::optional<sid> parse_sid_at(byte_span data, uint32_t offset) {
    byte_reader r(data);
    r.seek(offset);
    return read_sid(r);
}

void write_acl(byte_writer& w, const acl& a) {
    size_t start = w.size();
    w.u8(a.revision);
    w.u8(0);
    size_t size_at = w.reserve(2);
    w.u16(uint16_t(a.aces.size()));
    w.u16(0);
    for (const auto& e : a.aces) {
        size_t ace_start = w.size();
        w.u8(e.type);
        w.u8(e.flags);
        size_t ace_size_at = w.reserve(2);
        if (e.has_mask_and_sid()) {
            w.u32(e.mask);
            write_sid(w, e.trustee);
        }
        w.put(e.tail);
        w.patch_u16(ace_size_at, uint16_t(w.size() - ace_start));
    }
    w.patch_u16(size_at, uint16_t(w.size() - start));
}

ace allow(const sid& who, uint32_t mask, uint8_t flags = 0) {
    ace a;
    a.type = access_allowed_ace_type;
    a.flags = flags;
    a.mask = mask;
    a.trustee = who;
    return a;
}

// The effective copy of an inheritable ACE: CREATOR OWNER/GROUP replaced by the new
// object's owner/group and generic rights mapped (MS-DTYP 2.5.3.4.2).
ace effective_copy(const ace& a, const sid& owner, const sid& group) {
    ace e = a;
    if (e.has_mask_and_sid()) {
        if (e.trustee == creator_owner_sid()) {
            e.trustee = owner;
        } else if (e.trustee == creator_group_sid()) {
            e.trustee = group;
        }
        e.mask = map_generic(e.mask);
    }
    return e;
}

bool needs_split(const ace& a) {
    if (!a.has_mask_and_sid()) {
        return false;
    }
    bool generic = a.mask & (generic_all | generic_execute | generic_write | generic_read);
    return generic || a.trustee == creator_owner_sid() || a.trustee == creator_group_sid();
}

// ComputeInheritedACLfromParent (MS-DTYP 2.5.3.4.2) without object types.
acl inherit_acl(const acl& parent, bool directory, const sid& owner, const sid& group) {
    constexpr uint8_t inherit_flags =
        object_inherit_ace | container_inherit_ace | no_propagate_inherit_ace | inherit_only_ace;
    acl out;
    out.revision = parent.revision;
    for (const auto& a : parent.aces) {
        bool oi = a.flags & object_inherit_ace;
        bool ci = a.flags & container_inherit_ace;
        bool np = a.flags & no_propagate_inherit_ace;
        if (directory && ci) {
            if (np) {
                ace e = effective_copy(a, owner, group);
                e.flags = uint8_t((a.flags & ~inherit_flags) | inherited_ace);
                out.aces.push_back(std::move(e));
            } else if (needs_split(a)) {
                // One ACE that applies to this directory, one that children inherit.
                ace e = effective_copy(a, owner, group);
                e.flags = uint8_t((a.flags & ~inherit_flags) | inherited_ace);
                out.aces.push_back(std::move(e));
                ace i = a;
                i.flags = uint8_t(a.flags | inherit_only_ace | inherited_ace);
                out.aces.push_back(std::move(i));
            } else {
                ace e = a;
                e.flags = uint8_t((a.flags & ~inherit_only_ace) | inherited_ace);
                out.aces.push_back(std::move(e));
            }
        } else if (directory && oi && !np) {
            // Only for files created below this directory.
            ace i = a;
            i.flags = uint8_t(a.flags | inherit_only_ace | inherited_ace);
            out.aces.push_back(std::move(i));
        } else if (!directory && oi) {
            ace e = effective_copy(a, owner, group);
            e.flags = uint8_t((a.flags & ~inherit_flags) | inherited_ace);
            out.aces.push_back(std::move(e));
        }
    }
    return out;
}

size_t acl_wire_size(const acl& a) {
    size_t n = acl_header_size;
    for (const auto& e : a.aces) {
        n += ace_header_size + e.tail.size() +
             (e.has_mask_and_sid() ? 4 + e.trustee.wire_size() : 0);
    }
    return n;
}

std::string proc_path(int fd) {
    return "/proc/self/fd/" + std::to_string(fd);
}

} // namespace

descriptor_parse parse_security_descriptor(byte_span data) {
    descriptor_parse out;
    if (data.size() < descriptor_header_size) {
        out.status = status::invalid_parameter;
        return out;
    }
    byte_reader r(data);
    uint8_t revision = r.u8();
    r.u8(); // Sbz1
    uint16_t control = r.u16();
    uint32_t owner_offset = r.u32();
    uint32_t group_offset = r.u32();
    uint32_t sacl_offset = r.u32();
    uint32_t dacl_offset = r.u32();
    out.status = status_invalid_security_descr;
    if (revision != 1) {
        return out;
    }
    // Parts never overlap the header.
    auto bad_offset = [](uint32_t o) { return o != 0 && o < descriptor_header_size; };
    if (bad_offset(owner_offset) || bad_offset(group_offset) || bad_offset(sacl_offset) ||
        bad_offset(dacl_offset)) {
        return out;
    }
    auto& sd = out.sd;
    sd.control = control | se_self_relative;
    if (owner_offset) {
        if (!(sd.owner = parse_sid_at(data, owner_offset))) {
            return out;
        }
    }
    if (group_offset) {
        if (!(sd.group = parse_sid_at(data, group_offset))) {
            return out;
        }
    }
    if ((control & se_sacl_present) && sacl_offset) {
        if (!(sd.sacl = parse_acl(data, sacl_offset))) {
            return out;
        }
    }
    if ((control & se_dacl_present) && dacl_offset) {
        if (!(sd.dacl = parse_acl(data, dacl_offset))) {
            return out;
        }
    }
    out.status = status::success;
    return out;
}

bytes encode_security_descriptor(const security_descriptor& sd, uint32_t information) {
    bool owner = (information & owner_security_information) && sd.owner;
    bool group = (information & group_security_information) && sd.group;
    bool dacl = information & dacl_security_information;
    bool sacl = information & sacl_security_information;
    uint16_t control = sd.control | se_self_relative;
    if (!dacl) {
        control &= ~dacl_control_bits;
    }
    if (!sacl) {
        control &= ~sacl_control_bits;
    }
    byte_writer w;
    w.u8(1); // Revision
    w.u8(0); // Sbz1
    w.u16(control);
    size_t offsets = w.reserve(16); // OffsetOwner, OffsetGroup, OffsetSacl, OffsetDacl
    if (owner) {
        w.patch_u32(offsets, uint32_t(w.size()));
        write_sid(w, *sd.owner);
    }
    if (group) {
        w.patch_u32(offsets + 4, uint32_t(w.size()));
        write_sid(w, *sd.group);
    }
    if (sacl && (control & se_sacl_present) && sd.sacl) {
        w.patch_u32(offsets + 8, uint32_t(w.size()));
        write_acl(w, *sd.sacl);
    }
    if (dacl && (control & se_dacl_present) && sd.dacl) {
        w.patch_u32(offsets + 12, uint32_t(w.size()));
        write_acl(w, *sd.dacl);
    }
    return w.take();
}

uint32_t merge_security_descriptor(security_descriptor& stored, const security_descriptor& given,
                                   uint32_t information) {
    if (information & owner_security_information) {
        if (!given.owner) {
            return status_invalid_owner;
        }
        stored.owner = given.owner;
        stored.control =
            uint16_t((stored.control & ~se_owner_defaulted) | (given.control & se_owner_defaulted));
    }
    if (information & group_security_information) {
        if (!given.group) {
            return status_invalid_primary_group;
        }
        stored.group = given.group;
        stored.control =
            uint16_t((stored.control & ~se_group_defaulted) | (given.control & se_group_defaulted));
    }
    if (information & dacl_security_information) {
        // No DACL in the buffer sets a NULL DACL, as Windows does (smbtorture
        // smb2.create.nulldacl "set empty sd").
        stored.dacl = given.dacl_present() ? given.dacl : std::nullopt;
        stored.control = uint16_t((stored.control & ~dacl_control_bits) |
                                  (given.control & dacl_control_bits) | se_dacl_present);
    }
    if (information & sacl_security_information) {
        stored.sacl = (given.control & se_sacl_present) ? given.sacl : std::nullopt;
        stored.control =
            uint16_t((stored.control & ~sacl_control_bits) | (given.control & sacl_control_bits));
    }
    stored.control |= se_self_relative;
    return status::success;
}

security_descriptor default_security_descriptor(uint32_t uid, uint32_t gid, bool directory) {
    uint8_t flags = directory ? uint8_t(object_inherit_ace | container_inherit_ace) : 0;
    security_descriptor sd;
    sd.control = se_self_relative | se_dacl_present;
    sd.owner = unix_user_sid(uid);
    sd.group = unix_group_sid(gid);
    sd.dacl = acl{};
    sd.dacl->aces.push_back(allow(everyone_sid(), file_all_access, flags));
    sd.dacl->aces.push_back(allow(system_sid(), file_all_access, flags));
    return sd;
}

security_descriptor create_child_descriptor(const security_descriptor& parent,
                                            const security_descriptor* given, bool directory,
                                            const sid& owner, const sid& group) {
    security_descriptor sd;
    sd.control = se_self_relative | se_dacl_present;
    sd.owner = given && given->owner ? *given->owner : owner;
    sd.group = given && given->group ? *given->group : group;
    if (given && given->dacl_present()) {
        sd.dacl = given->dacl;
        sd.control |= given->control & (se_dacl_protected | se_dacl_auto_inherited);
        return sd;
    }
    if (parent.dacl_present() && parent.dacl) {
        acl inherited = inherit_acl(*parent.dacl, directory, *sd.owner, *sd.group);
        // Split ACEs can outgrow AclSize (16 bits); the default below is the safe
        // answer then.
        if (!inherited.aces.empty() && acl_wire_size(inherited) <= 0xFFFF) {
            sd.dacl = std::move(inherited);
            sd.control |= parent.control & se_dacl_auto_inherited;
            return sd;
        }
    }
    sd.dacl = acl{};
    sd.dacl->aces.push_back(allow(*sd.owner, file_all_access));
    sd.dacl->aces.push_back(allow(system_sid(), file_all_access));
    return sd;
}

std::optional<security_descriptor> load_security_descriptor(int fd) {
    bytes buf(4096);
    for (;;) {
        ssize_t n = ::fgetxattr(fd, ntacl_xattr, buf.data(), buf.size());
        if (n < 0 && errno == EBADF) {
            // fgetxattr() refuses O_PATH descriptors; reach the inode through /proc.
            n = ::getxattr(proc_path(fd).c_str(), ntacl_xattr, buf.data(), buf.size());
        }
        if (n >= 0) {
            buf.resize(size_t(n));
            break;
        }
        if (errno != ERANGE || buf.size() >= max_stored_size) {
            return std::nullopt;
        }
        buf.resize(max_stored_size);
    }
    auto parsed = parse_security_descriptor(buf);
    if (parsed.status != status::success) {
        return std::nullopt;
    }
    return std::move(parsed.sd);
}

int store_security_descriptor(int fd, const security_descriptor& sd) {
    bytes b = encode_security_descriptor(sd);
    if (b.size() > max_stored_size) {
        return E2BIG;
    }
    int r = ::fsetxattr(fd, ntacl_xattr, b.data(), b.size(), 0);
    if (r != 0 && errno == EBADF) {
        r = ::setxattr(proc_path(fd).c_str(), ntacl_xattr, b.data(), b.size(), 0);
    }
    return r == 0 ? 0 : errno;
}

security_descriptor effective_security_descriptor(int fd) {
    if (auto sd = load_security_descriptor(fd)) {
        return std::move(*sd);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return default_security_descriptor(0, 0, false);
    }
    return default_security_descriptor(st.st_uid, st.st_gid, S_ISDIR(st.st_mode));
}

uint32_t set_security_descriptor(int fd, uint32_t information, byte_span buffer) {
    auto given = parse_security_descriptor(buffer);
    if (given.status != status::success) {
        return given.status;
    }
    security_descriptor sd = effective_security_descriptor(fd);
    if (uint32_t st = merge_security_descriptor(sd, given.sd, information); st != status::success) {
        return st;
    }
    int err = store_security_descriptor(fd, sd);
    if (err == ENOTSUP) {
        return status::not_supported;
    }
    return err ? status::unsuccessful : status::success;
}

} // namespace smbx::vfs
