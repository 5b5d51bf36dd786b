// Security identifiers (MS-DTYP 2.4.2) and the one place that maps smbx users to them.
//
// Without a directory service every user gets a stable SID of the server's own
// "domain": S-1-5-21-A-B-C-RID, where A-B-C are three 32-bit hashes of the server's
// NetBIOS name (upper-cased) and RID = 1000 + a 32-bit hash of the lower-cased user
// name, reduced below 2^31. Guest is RID 501 of that domain; an anonymous session is
// ANONYMOUS LOGON (S-1-5-7). Limits: two user names whose hashes collide share one SID
// (and so each other's access); renaming the server changes every user's SID, so
// descriptors stored under the old name no longer name their users. Files that have
// no stored descriptor are owned by the Unix user and group SIDs Samba uses for
// unmapped ids (S-1-22-1-uid, S-1-22-2-gid).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_codec.hh"

namespace smbx::vfs {

struct sid {
    uint8_t revision = 1;
    uint64_t authority = 0; // 48-bit IdentifierAuthority
    std::vector<uint32_t> sub_authorities;

    bool operator==(const sid&) const = default;
    // Bytes on the wire: 8 + 4 per sub-authority (MS-DTYP 2.4.2.2).
    size_t wire_size() const { return 8 + 4 * sub_authorities.size(); }
    std::string to_string() const; // "S-1-5-21-..."
};

// At most 15 sub-authorities (MS-DTYP 2.4.2.2 SID_MAX_SUB_AUTHORITIES).
constexpr size_t sid_max_sub_authorities = 15;

// Reads a SID at the reader's position; nullopt (and the reader failed) if it is
// truncated, has revision != 1 or more than 15 sub-authorities.
std::optional<sid> read_sid(byte_reader& r);
void write_sid(byte_writer& w, const sid& s);

// Well-known SIDs (MS-DTYP 2.4.2.4).
sid everyone_sid();            // S-1-1-0
sid creator_owner_sid();       // S-1-3-0
sid creator_group_sid();       // S-1-3-1
sid anonymous_sid();           // S-1-5-7
sid authenticated_users_sid(); // S-1-5-11
sid system_sid();              // S-1-5-18
sid administrators_sid();      // S-1-5-32-544
sid unix_user_sid(uint32_t uid);
sid unix_group_sid(uint32_t gid);

// The server's domain SID S-1-5-21-A-B-C from its NetBIOS name.
sid domain_sid(std::string_view netbios_name);
// A user's SID in that domain (see above); the user name is compared without case.
sid user_sid(std::string_view netbios_name, std::string_view user_name);
sid guest_sid(std::string_view netbios_name); // domain RID 501
// The domain's "Domain Users" group (RID 513): the primary group of new files.
sid domain_users_sid(std::string_view netbios_name);

} // namespace smbx::vfs
