#include "dataplane/vfs/security_descriptor.hh"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/ntstatus.hh"
#include "dataplane/vfs/access.hh"
#include "test_share.hh"

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

security_descriptor sample() {
    security_descriptor sd;
    sd.control = se_self_relative | se_dacl_present | se_dacl_protected;
    sd.owner = user_sid("SMBX", "alice");
    sd.group = domain_users_sid("SMBX");
    sd.dacl = acl{2,
                  {make_ace(access_denied_ace_type, user_sid("SMBX", "bob"), file_write_data),
                   make_ace(access_allowed_ace_type, everyone_sid(), file_generic_read,
                            object_inherit_ace | container_inherit_ace)}};
    return sd;
}

void expect_same(const security_descriptor& a, const security_descriptor& b) {
    EXPECT_EQ(a.control, b.control);
    EXPECT_EQ(a.owner, b.owner);
    EXPECT_EQ(a.group, b.group);
    ASSERT_EQ(a.dacl.has_value(), b.dacl.has_value());
    if (a.dacl) {
        ASSERT_EQ(a.dacl->aces.size(), b.dacl->aces.size());
        for (size_t i = 0; i < a.dacl->aces.size(); ++i) {
            EXPECT_EQ(a.dacl->aces[i].type, b.dacl->aces[i].type);
            EXPECT_EQ(a.dacl->aces[i].flags, b.dacl->aces[i].flags);
            EXPECT_EQ(a.dacl->aces[i].mask, b.dacl->aces[i].mask);
            EXPECT_EQ(a.dacl->aces[i].trustee, b.dacl->aces[i].trustee);
            EXPECT_EQ(a.dacl->aces[i].tail, b.dacl->aces[i].tail);
        }
    }
}

TEST(security_descriptor, round_trip) {
    auto sd = sample();
    bytes wire = encode_security_descriptor(sd);
    auto back = parse_security_descriptor(wire);
    ASSERT_EQ(back.status, status::success);
    expect_same(back.sd, sd);
    EXPECT_EQ(encode_security_descriptor(back.sd), wire);
}

TEST(security_descriptor, unknown_ace_types_and_trailing_bytes_are_kept) {
    auto sd = sample();
    ace object;
    object.type = 0x05; // ACCESS_ALLOWED_OBJECT_ACE: kept, not interpreted
    object.tail = {1, 2, 3, 4, 5, 6, 7, 8};
    sd.dacl->aces.push_back(object);
    sd.dacl->aces[0].tail = {0, 0, 0, 0};
    bytes wire = encode_security_descriptor(sd);
    auto back = parse_security_descriptor(wire);
    ASSERT_EQ(back.status, status::success);
    expect_same(back.sd, sd);
}

TEST(security_descriptor, null_dacl_and_parts) {
    security_descriptor sd;
    sd.control = se_self_relative | se_dacl_present;
    sd.owner = everyone_sid();
    bytes wire = encode_security_descriptor(sd);
    auto back = parse_security_descriptor(wire);
    ASSERT_EQ(back.status, status::success);
    EXPECT_TRUE(back.sd.dacl_present());
    EXPECT_FALSE(back.sd.dacl);
    // Only the owner: no DACL bits, no group.
    bytes owner_only = encode_security_descriptor(sample(), owner_security_information);
    auto o = parse_security_descriptor(owner_only);
    ASSERT_EQ(o.status, status::success);
    EXPECT_EQ(o.sd.control, se_self_relative);
    EXPECT_TRUE(o.sd.owner);
    EXPECT_FALSE(o.sd.group);
    EXPECT_EQ(encode_security_descriptor(sample(), 0).size(), 20u);
}

TEST(security_descriptor, malformed_descriptors_are_refused) {
    bytes wire = encode_security_descriptor(sample());
    EXPECT_EQ(parse_security_descriptor(byte_span(wire).first(19)).status,
              status::invalid_parameter);
    auto with = [&](size_t at, uint8_t v) {
        bytes b = wire;
        b.at(at) = v;
        return parse_security_descriptor(b).status;
    };
    EXPECT_EQ(with(0, 2), status_invalid_security_descr);    // Revision
    EXPECT_EQ(with(4, 0xF0), status_invalid_security_descr); // OffsetOwner past the end
    EXPECT_EQ(with(4, 8), status_invalid_security_descr);    // OffsetOwner inside the header
    uint32_t dacl = wire[16] | (wire[17] << 8);
    EXPECT_EQ(with(dacl, 3), status_invalid_security_descr);        // AclRevision
    EXPECT_EQ(with(dacl + 2, 0xFF), status_invalid_security_descr); // AclSize
    EXPECT_EQ(with(dacl + 4, 9), status_invalid_security_descr);    // AceCount
    EXPECT_EQ(with(dacl + 10, 2), status_invalid_security_descr);   // AceSize < header
    EXPECT_EQ(with(dacl + 10, 12), status_invalid_security_descr);  // AceSize cuts the SID
    // Truncated anywhere: never a crash, never success with parts missing.
    for (size_t n = 20; n < wire.size(); ++n) {
        EXPECT_NE(parse_security_descriptor(byte_span(wire).first(n)).status, status::success) << n;
    }
}

TEST(security_descriptor, merge_replaces_named_parts) {
    auto stored = sample();
    security_descriptor given;
    given.control = se_self_relative | se_dacl_present;
    given.owner = everyone_sid();
    given.dacl = acl{2, {}};
    ASSERT_EQ(merge_security_descriptor(stored, given, dacl_security_information), status::success);
    EXPECT_EQ(stored.owner, user_sid("SMBX", "alice")); // not named: kept
    ASSERT_TRUE(stored.dacl);
    EXPECT_TRUE(stored.dacl->aces.empty());
    EXPECT_FALSE(stored.control & se_dacl_protected);
    ASSERT_EQ(merge_security_descriptor(stored, given, owner_security_information),
              status::success);
    EXPECT_EQ(stored.owner, everyone_sid());
    EXPECT_EQ(merge_security_descriptor(stored, given, group_security_information),
              status_invalid_primary_group);
    // No DACL in the buffer: a NULL DACL.
    security_descriptor empty;
    ASSERT_EQ(merge_security_descriptor(stored, empty, dacl_security_information), status::success);
    EXPECT_TRUE(stored.dacl_present());
    EXPECT_FALSE(stored.dacl);
}

TEST(security_descriptor, inheritance_follows_ms_dtyp_2_5_3_4_2) {
    sid alice = user_sid("SMBX", "alice");
    sid users = domain_users_sid("SMBX");
    security_descriptor parent;
    parent.control = se_self_relative | se_dacl_present;
    parent.dacl = acl{
        2,
        {make_ace(access_allowed_ace_type, system_sid(), file_all_access), // not inheritable
         make_ace(access_allowed_ace_type, creator_owner_sid(), generic_all,
                  object_inherit_ace | container_inherit_ace | inherit_only_ace),
         make_ace(access_allowed_ace_type, everyone_sid(), file_generic_read, object_inherit_ace),
         make_ace(access_denied_ace_type, user_sid("SMBX", "bob"), file_write_data,
                  container_inherit_ace | no_propagate_inherit_ace)}};

    auto file = create_child_descriptor(parent, nullptr, false, alice, users);
    EXPECT_EQ(file.owner, alice);
    EXPECT_EQ(file.group, users);
    ASSERT_TRUE(file.dacl);
    ASSERT_EQ(file.dacl->aces.size(), 2u);
    EXPECT_EQ(file.dacl->aces[0].trustee, alice); // CREATOR OWNER replaced
    EXPECT_EQ(file.dacl->aces[0].mask, file_all_access);
    EXPECT_EQ(file.dacl->aces[0].flags, inherited_ace);
    EXPECT_EQ(file.dacl->aces[1].trustee, everyone_sid());
    EXPECT_EQ(file.dacl->aces[1].flags, inherited_ace);

    auto dir = create_child_descriptor(parent, nullptr, true, alice, users);
    ASSERT_TRUE(dir.dacl);
    ASSERT_EQ(dir.dacl->aces.size(), 4u);
    // CREATOR OWNER: one effective ACE for the owner, one inherit-only for children.
    EXPECT_EQ(dir.dacl->aces[0].trustee, alice);
    EXPECT_EQ(dir.dacl->aces[0].flags, inherited_ace);
    EXPECT_EQ(dir.dacl->aces[0].mask, file_all_access);
    EXPECT_EQ(dir.dacl->aces[1].trustee, creator_owner_sid());
    EXPECT_EQ(dir.dacl->aces[1].mask, generic_all);
    EXPECT_EQ(dir.dacl->aces[1].flags,
              object_inherit_ace | container_inherit_ace | inherit_only_ace | inherited_ace);
    // OBJECT_INHERIT only: passed on to files, not effective on the directory.
    EXPECT_EQ(dir.dacl->aces[2].flags, object_inherit_ace | inherit_only_ace | inherited_ace);
    // NO_PROPAGATE: effective on the child, inherited no further.
    EXPECT_EQ(dir.dacl->aces[3].flags, inherited_ace);
    EXPECT_EQ(dir.dacl->aces[3].type, access_denied_ace_type);

    // Nothing inheritable: the creator's default DACL.
    security_descriptor bare;
    bare.control = se_self_relative | se_dacl_present;
    bare.dacl = acl{};
    auto d = create_child_descriptor(bare, nullptr, false, alice, users);
    ASSERT_TRUE(d.dacl);
    ASSERT_EQ(d.dacl->aces.size(), 2u);
    EXPECT_EQ(d.dacl->aces[0].trustee, alice);
    EXPECT_EQ(d.dacl->aces[1].trustee, system_sid());

    // A given DACL wins; a given owner too.
    auto given = sample();
    auto g = create_child_descriptor(parent, &given, false, alice, users);
    EXPECT_EQ(g.dacl->aces.size(), given.dacl->aces.size());
    EXPECT_TRUE(g.control & se_dacl_protected);
    security_descriptor owner_only;
    owner_only.owner = everyone_sid();
    auto o = create_child_descriptor(parent, &owner_only, false, alice, users);
    EXPECT_EQ(o.owner, everyone_sid());
    EXPECT_EQ(o.dacl->aces.size(), 2u); // inherited
}

TEST(security_descriptor, stored_in_an_xattr) {
    testing::temp_share share;
    share.write("f", "x");
    int fd = ::open(share.path("f").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    EXPECT_FALSE(load_security_descriptor(fd));
    auto def = effective_security_descriptor(fd);
    EXPECT_EQ(def.owner, unix_user_sid(::geteuid()));
    ASSERT_TRUE(def.dacl);
    EXPECT_EQ(def.dacl->aces.front().trustee, everyone_sid());
    int err = store_security_descriptor(fd, sample());
    if (err == ENOTSUP) {
        ::close(fd);
        GTEST_SKIP() << "no user xattrs here";
    }
    ASSERT_EQ(err, 0);
    auto back = load_security_descriptor(fd);
    ASSERT_TRUE(back);
    expect_same(*back, sample());
    // O_PATH descriptors are read through /proc.
    int path_fd = ::open(share.path("f").c_str(), O_PATH);
    ASSERT_TRUE(load_security_descriptor(path_fd));
    ::close(path_fd);
    // A corrupt xattr counts as none.
    ASSERT_EQ(::fsetxattr(fd, "user.smbx.ntacl", "junk", 4, 0), 0);
    EXPECT_FALSE(load_security_descriptor(fd));
    ::close(fd);
}

} // namespace
} // namespace smbx::vfs
