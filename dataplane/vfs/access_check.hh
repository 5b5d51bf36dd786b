// Who a session is (its access token) and what a security descriptor lets it do:
// MS-DTYP 2.5.3.2 AccessCheck, simplified. The token holds the user's SID (sid.hh),
// Everyone, and Authenticated Users unless the session is guest or anonymous; there
// are no privileges, no restricted SIDs, no OWNER RIGHTS (S-1-3-4) and no mandatory
// labels. Allowed and denied ACEs are walked in order and the first ACE that names a
// right decides it; object and callback ACEs are skipped; a NULL DACL grants every
// right; the owner always gets READ_CONTROL and WRITE_DAC.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dataplane/vfs/security_descriptor.hh"
#include "dataplane/vfs/sid.hh"

namespace smbx::vfs {

struct access_token {
    sid user;
    sid primary_group;       // the group of the files the session creates
    std::vector<sid> groups; // the user's other SIDs

    bool contains(const sid& s) const;
};

// The token of a session; `netbios_name` names the server's domain (sid.hh).
access_token make_access_token(std::string_view netbios_name, std::string_view user_name,
                               bool guest, bool anonymous);

// The token of a plain authenticated user, for callers that have no session.
const access_token& default_access_token();

// Every right (generic rights mapped) the descriptor grants the token: what
// MAXIMUM_ALLOWED yields and what an open's DesiredAccess is checked against.
uint32_t granted_access(const security_descriptor& sd, const access_token& token);

// What the token may do to the existing file `leaf` of directory `dirfd` (both may be
// O_PATH): its DACL's grant, plus DELETE when the directory grants FILE_DELETE_CHILD
// (MS-FSA 2.1.5.1.2.1), except for the share root (`leaf` "."), which has no parent.
uint32_t existing_file_access(int dirfd, const char* leaf, const access_token& token);
// Whether directory `dirfd` lets the token add a file or a subdirectory
// (FILE_ADD_FILE / FILE_ADD_SUBDIRECTORY, MS-FSA 2.1.5.1.1).
bool may_create_in(int dirfd, bool directory, const access_token& token);
// Gives the new file `fd` its descriptor: `given` (SecD) completed with the token's
// owner and group, or what it inherits from directory `dirfd`
// (security_descriptor.hh create_child_descriptor). Returns 0 or an errno.
// When there is no SecD and the directory has no stored descriptor either, nothing
// is stored: the file's synthesized descriptor grants the same (Everyone and SYSTEM
// full control) and only its owner differs (the Unix owner, not the creator). That
// saves an xattr write per create and, on ext4 with 256-byte inodes, an external
// xattr block that would show in the file's AllocationSize (smbtorture
// smb2.create.blob).
int store_new_file_descriptor(int fd, int dirfd, bool directory, const access_token& token,
                              const security_descriptor* given);

} // namespace smbx::vfs
