#include "dataplane/vfs/access_check.hh"

#include <gtest/gtest.h>

#include "dataplane/vfs/access.hh"

namespace smbx::vfs {
namespace {

ace make_ace(uint8_t type, const sid& who, uint32_t mask, uint8_t flags = 0) {
    ace a;
    a.type = type;
    a.flags = flags;
    a.mask = mask;
    a.trustee = who;
    return a;
}

security_descriptor with_dacl(std::vector<ace> aces, const sid& owner) {
    security_descriptor sd;
    sd.control = se_self_relative | se_dacl_present;
    sd.owner = owner;
    sd.dacl = acl{2, std::move(aces)};
    return sd;
}

TEST(access_check, token_holds_user_everyone_and_authenticated_users) {
    auto t = make_access_token("SMBX", "alice", false, false);
    EXPECT_EQ(t.user, user_sid("SMBX", "alice"));
    EXPECT_TRUE(t.contains(everyone_sid()));
    EXPECT_TRUE(t.contains(authenticated_users_sid()));
    auto guest = make_access_token("SMBX", "nobody", true, false);
    EXPECT_EQ(guest.user, guest_sid("SMBX"));
    EXPECT_TRUE(guest.contains(everyone_sid()));
    EXPECT_FALSE(guest.contains(authenticated_users_sid()));
    auto anon = make_access_token("SMBX", "", false, true);
    EXPECT_EQ(anon.user, anonymous_sid());
    EXPECT_FALSE(anon.contains(authenticated_users_sid()));
}

TEST(access_check, null_and_empty_dacls) {
    auto t = make_access_token("SMBX", "alice", false, false);
    security_descriptor null_dacl;
    null_dacl.control = se_self_relative | se_dacl_present;
    EXPECT_EQ(granted_access(null_dacl, t), file_all_access);
    auto empty = with_dacl({}, everyone_sid());
    // Everyone is the owner here: only the owner's implicit rights.
    EXPECT_EQ(granted_access(empty, t), read_control | write_dac);
    auto not_owner = with_dacl({}, system_sid());
    EXPECT_EQ(granted_access(not_owner, t), 0u);
}

TEST(access_check, first_ace_naming_a_right_decides) {
    auto t = make_access_token("SMBX", "alice", false, false);
    auto deny_first = with_dacl({make_ace(access_denied_ace_type, t.user, file_write_data),
                                 make_ace(access_allowed_ace_type, everyone_sid(), generic_all)},
                                system_sid());
    uint32_t g = granted_access(deny_first, t);
    EXPECT_FALSE(g & file_write_data);
    EXPECT_TRUE(g & file_read_data);
    auto allow_first = with_dacl({make_ace(access_allowed_ace_type, everyone_sid(), generic_all),
                                  make_ace(access_denied_ace_type, t.user, file_write_data)},
                                 system_sid());
    EXPECT_EQ(granted_access(allow_first, t), file_all_access);
}

TEST(access_check, other_sids_inherit_only_and_creator_owner_do_not_match) {
    auto t = make_access_token("SMBX", "alice", false, false);
    auto sd =
        with_dacl({make_ace(access_allowed_ace_type, user_sid("SMBX", "bob"), file_all_access),
                   make_ace(access_allowed_ace_type, t.user, file_all_access, inherit_only_ace),
                   make_ace(access_allowed_ace_type, creator_owner_sid(), file_all_access),
                   make_ace(access_allowed_ace_type, authenticated_users_sid(), file_generic_read)},
                  t.user);
    EXPECT_EQ(granted_access(sd, t), file_generic_read | write_dac);
    auto guest = make_access_token("SMBX", "g", true, false);
    EXPECT_EQ(granted_access(sd, guest), 0u);
}

} // namespace
} // namespace smbx::vfs
