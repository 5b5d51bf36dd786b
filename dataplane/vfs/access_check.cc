#include "dataplane/vfs/access_check.hh"

#include <fcntl.h>

#include <algorithm>
#include <cstring>

#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/share_path.hh"
#include "dataplane/vfs/unique_fd.hh"

namespace smbx::vfs {

namespace {

// Every right a DACL can grant on a file (MS-DTYP 2.4.3 with the file-specific bits).
constexpr uint32_t all_rights = file_all_access;

} // namespace

bool access_token::contains(const sid& s) const {
    return user == s || std::find(groups.begin(), groups.end(), s) != groups.end();
}

access_token make_access_token(std::string_view netbios_name, std::string_view user_name,
                               bool guest, bool anonymous) {
    access_token t;
    if (anonymous) {
        t.user = anonymous_sid();
    } else if (guest) {
        t.user = guest_sid(netbios_name);
    } else {
        t.user = user_sid(netbios_name, user_name);
    }
    t.primary_group = domain_users_sid(netbios_name);
    t.groups.push_back(everyone_sid());
    if (!guest && !anonymous) {
        t.groups.push_back(authenticated_users_sid());
    }
    t.groups.push_back(t.primary_group);
    return t;
}

uint32_t granted_access(const security_descriptor& sd, const access_token& token) {
    uint32_t granted = 0;
    uint32_t denied = 0;
    // MS-DTYP 2.5.3.2: the owner may always read and change the DACL.
    if (sd.owner && token.contains(*sd.owner)) {
        granted |= read_control | write_dac;
    }
    if (!sd.dacl_present() || !sd.dacl) {
        return all_rights; // no DACL or a NULL DACL: no protection
    }
    for (const auto& a : sd.dacl->aces) {
        if ((a.flags & inherit_only_ace) || !a.has_mask_and_sid() || !token.contains(a.trustee)) {
            continue;
        }
        uint32_t mask = map_generic(a.mask) & all_rights;
        if (a.type == access_allowed_ace_type) {
            granted |= mask & ~denied;
        } else if (a.type == access_denied_ace_type) {
            denied |= mask & ~granted;
        }
    }
    return granted;
}

const access_token& default_access_token() {
    static const access_token token = make_access_token("", "", false, false);
    return token;
}

uint32_t existing_file_access(int dirfd, const char* leaf, const access_token& token) {
    bool root = std::strcmp(leaf, ".") == 0;
    unique_fd fd(root ? ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0) : open_beneath(dirfd, leaf, O_PATH));
    if (!fd) {
        return 0;
    }
    uint32_t granted = granted_access(effective_security_descriptor(fd.get()), token);
    if (!root && !(granted & delete_access)) {
        auto parent = effective_security_descriptor(dirfd);
        if (granted_access(parent, token) & file_delete_child) {
            granted |= delete_access;
        }
    }
    return granted;
}

bool may_create_in(int dirfd, bool directory, const access_token& token) {
    uint32_t need = directory ? file_append_data : file_write_data;
    return granted_access(effective_security_descriptor(dirfd), token) & need;
}

int store_new_file_descriptor(int fd, int dirfd, bool directory, const access_token& token,
                              const security_descriptor* given) {
    auto stored = load_security_descriptor(dirfd);
    if (!stored && !given) {
        // Inheriting from a synthesized descriptor yields the synthesized one again,
        // but for the owner: store nothing (see access_check.hh).
        return 0;
    }
    auto parent = stored ? std::move(*stored) : effective_security_descriptor(dirfd);
    auto sd = create_child_descriptor(parent, given, directory, token.user, token.primary_group);
    return store_security_descriptor(fd, sd);
}

} // namespace smbx::vfs
