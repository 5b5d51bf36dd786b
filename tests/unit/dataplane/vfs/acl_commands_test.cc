// CREATE (SecD, inheritance, access checks, MxAc), QUERY_INFO and SET_INFO of
// security descriptors against a temporary share.
#include <gtest/gtest.h>
#include <sys/xattr.h>

#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/create_file.hh"
#include "dataplane/vfs/security_descriptor.hh"
#include "smb2_harness.hh"

namespace smbx::vfs {
namespace {

using smb2::file_id;
using testing::result;

constexpr uint8_t info_security = 3;
constexpr uint32_t owner_group_dacl = 0x7;

ace allow(const sid& who, uint32_t mask, uint8_t flags = 0) {
    ace a;
    a.flags = flags;
    a.mask = mask;
    a.trustee = who;
    return a;
}

security_descriptor dacl_only(std::vector<ace> aces) {
    security_descriptor sd;
    sd.control = se_self_relative | se_dacl_present;
    sd.dacl = acl{2, std::move(aces)};
    return sd;
}

class acl_commands : public testing::smb2_fixture {
protected:
    void SetUp() override {
        smb2_fixture::SetUp();
        sess->user = "alice";
        const auto& nb = conn->settings.netbios_name;
        alice = user_sid(std::string_view(nb, strnlen(nb, sizeof(nb))), "alice");
        // Skip where the file system has no user xattrs.
        share.write("probe", "");
        xattrs = ::setxattr(share.path("probe").c_str(), "user.smbx.probe", "1", 1, 0) == 0;
    }

    result create_with(std::string_view name, uint32_t access, uint32_t disposition,
                       const security_descriptor* sd, uint32_t options = 0, bool mxac = false) {
        bytes ctx;
        if (sd && mxac) {
            ctx = context("SecD", encode_security_descriptor(*sd), false);
            bytes m = context("MxAc", {});
            ctx.insert(ctx.end(), m.begin(), m.end());
        } else if (sd) {
            ctx = context("SecD", encode_security_descriptor(*sd));
        } else if (mxac) {
            ctx = context("MxAc", {});
        }
        return call(smb2::handle_create,
                    create_body(name, access, disposition, options, 7, 0, ctx));
    }

    security_descriptor query(file_id id, uint32_t information = owner_group_dacl) {
        auto r =
            call(smb2::handle_query_info, query_info_body(info_security, 0, id, 4096, information));
        EXPECT_EQ(r.status, status::success);
        uint32_t length = r.u32(4);
        auto parsed = parse_security_descriptor(byte_span(r.body).subspan(8, length));
        EXPECT_EQ(parsed.status, status::success);
        return parsed.sd;
    }

    uint32_t set(file_id id, const security_descriptor& sd, uint32_t information) {
        return call(
                   smb2::handle_set_info,
                   set_info_body(info_security, 0, id, encode_security_descriptor(sd), information))
            .status;
    }

    sid alice;
    bool xattrs = false;
};

TEST_F(acl_commands, secd_sets_the_new_files_descriptor) {
    if (!xattrs) {
        GTEST_SKIP() << "no user xattrs";
    }
    auto sd = dacl_only({allow(everyone_sid(), file_generic_read)});
    auto r = create_with("f", file_generic_read | read_control, file_create, &sd);
    ASSERT_EQ(r.status, status::success);
    auto got = query(id_of(r));
    EXPECT_EQ(got.owner, alice); // the creator: the SecD named none
    ASSERT_TRUE(got.dacl);
    ASSERT_EQ(got.dacl->aces.size(), 1u);
    EXPECT_EQ(got.dacl->aces[0].mask, file_generic_read);

    // The DACL now applies: reading is allowed, writing is not; MxAc says so.
    auto rd = create_with("f", file_read_data, file_open_disposition, nullptr, 0, true);
    EXPECT_EQ(rd.status, status::success);
    EXPECT_EQ(create_with("f", file_write_data, file_open_disposition, nullptr).status,
              status::access_denied);
    auto mx = create_with("f", maximum_allowed, file_open_disposition, nullptr, 0, true);
    ASSERT_EQ(mx.status, status::success);
    uint32_t ctx_offset = mx.u32(80) - smb2::header_size;
    uint32_t maximal = mx.u32(ctx_offset + 28);
    // The owner adds WRITE_DAC; the share root's FILE_DELETE_CHILD adds DELETE.
    EXPECT_EQ(maximal, file_generic_read | write_dac | delete_access);
}

TEST_F(acl_commands, streams_are_guarded_by_their_base_files_dacl) {
    if (!xattrs) {
        GTEST_SKIP() << "no user xattrs";
    }
    auto sd = dacl_only({allow(everyone_sid(), file_generic_read)});
    ASSERT_EQ(create_with("f", file_generic_read, file_create, &sd).status, status::success);
    // Writing the base file is denied, and so is writing (or creating) one of its streams.
    EXPECT_EQ(create_with("f:s", file_write_data, file_open_if, nullptr).status,
              status::access_denied);
    // A directory that does not let alice add files: no new file through a stream name.
    auto dir_sd = dacl_only({allow(everyone_sid(), file_generic_read | file_execute)});
    ASSERT_EQ(create_with("d", file_generic_read, file_create, &dir_sd, file_directory_file).status,
              status::success);
    EXPECT_EQ(create_with("d\\new:s", file_generic_write, file_create, nullptr).status,
              status::access_denied);
}

TEST_F(acl_commands, empty_and_null_dacls) {
    if (!xattrs) {
        GTEST_SKIP() << "no user xattrs";
    }
    security_descriptor none; // no DACL: inherited from the (synthesized) parent
    auto r = create_with("f", read_control | write_dac | write_owner, file_create, &none);
    ASSERT_EQ(r.status, status::success);
    file_id id = id_of(r);
    auto got = query(id);
    EXPECT_TRUE(got.dacl_present());
    ASSERT_TRUE(got.dacl);

    ASSERT_EQ(set(id, dacl_only({}), dacl_security_information), status::success);
    EXPECT_EQ(create_with("f", read_control, file_open_disposition, nullptr).status,
              status::success);
    EXPECT_EQ(create_with("f", file_read_data, file_open_disposition, nullptr).status,
              status::access_denied);

    security_descriptor null_dacl;
    null_dacl.control = se_self_relative | se_dacl_present;
    ASSERT_EQ(set(id, null_dacl, dacl_security_information), status::success);
    got = query(id);
    EXPECT_TRUE(got.dacl_present());
    EXPECT_FALSE(got.dacl);
    EXPECT_EQ(create_with("f", generic_write, file_open_disposition, nullptr).status,
              status::success);
}

TEST_F(acl_commands, creator_owner_is_not_the_owner) {
    if (!xattrs) {
        GTEST_SKIP() << "no user xattrs";
    }
    file_id id = open("f", read_control | write_dac | write_owner, file_create);
    ASSERT_EQ(set(id, dacl_only({allow(creator_owner_sid(), file_generic_read)}),
                  dacl_security_information),
              status::success);
    // smbtorture smb2.compound.related4: the open for write is refused...
    EXPECT_EQ(create_with("f", file_write_data, file_open_disposition, nullptr).status,
              status::access_denied);
    // ...but the share root grants FILE_DELETE_CHILD, so the file can still go.
    EXPECT_EQ(create_with("f", delete_access, file_open_disposition, nullptr).status,
              status::success);
}

TEST_F(acl_commands, new_files_inherit_from_their_directory) {
    if (!xattrs) {
        GTEST_SKIP() << "no user xattrs";
    }
    auto dir_sd =
        dacl_only({allow(creator_owner_sid(), generic_all,
                         object_inherit_ace | container_inherit_ace | inherit_only_ace),
                   allow(everyone_sid(), file_generic_read | file_write_data | file_append_data,
                         object_inherit_ace | container_inherit_ace)});
    auto d = create_with("d", read_control, file_create, &dir_sd, file_directory_file);
    ASSERT_EQ(d.status, status::success);
    auto f = create_with("d\\f", read_control, file_create, nullptr);
    ASSERT_EQ(f.status, status::success);
    auto got = query(id_of(f));
    ASSERT_TRUE(got.dacl);
    ASSERT_EQ(got.dacl->aces.size(), 2u);
    EXPECT_EQ(got.dacl->aces[0].trustee, alice);
    EXPECT_EQ(got.dacl->aces[0].mask, file_all_access);
    EXPECT_EQ(got.dacl->aces[0].flags, inherited_ace);

    // Another user gets only what Everyone gets, and may not delete.
    sess->user = "bob";
    EXPECT_EQ(create_with("d\\f", file_read_data, file_open_disposition, nullptr).status,
              status::success);
    EXPECT_EQ(create_with("d\\f", delete_access, file_open_disposition, nullptr).status,
              status::access_denied);
    // No FILE_ADD_SUBDIRECTORY for him... but the directory grants FILE_APPEND_DATA.
    EXPECT_EQ(create_with("d\\sub", read_control, file_create, nullptr, file_directory_file).status,
              status::success);
}

TEST_F(acl_commands, creating_needs_add_file_on_the_parent) {
    if (!xattrs) {
        GTEST_SKIP() << "no user xattrs";
    }
    auto ro_dir = dacl_only({allow(everyone_sid(), file_generic_read | file_execute,
                                   object_inherit_ace | container_inherit_ace)});
    ASSERT_EQ(create_with("d", read_control, file_create, &ro_dir, file_directory_file).status,
              status::success);
    EXPECT_EQ(create_with("d\\f", file_generic_read, file_create, nullptr).status,
              status::access_denied);
}

TEST_F(acl_commands, query_parts_and_buffer_too_small) {
    file_id id = open("f", read_control, file_create);
    auto owner_only = query(id, owner_security_information);
    EXPECT_TRUE(owner_only.owner);
    EXPECT_FALSE(owner_only.group);
    EXPECT_FALSE(owner_only.dacl_present());
    // A SACL needs ACCESS_SYSTEM_SECURITY: left out, not refused.
    auto with_sacl = query(id, owner_group_dacl | sacl_security_information);
    EXPECT_FALSE(with_sacl.control & se_sacl_present);
    auto r =
        call(smb2::handle_query_info, query_info_body(info_security, 0, id, 8, owner_group_dacl));
    EXPECT_EQ(r.status, status::buffer_too_small);
}

TEST_F(acl_commands, set_needs_the_right_access_and_a_valid_descriptor) {
    file_id ro = open("f", read_control, file_create);
    auto sd = dacl_only({});
    EXPECT_EQ(set(ro, sd, dacl_security_information), status::access_denied);
    sd.owner = alice;
    EXPECT_EQ(set(ro, sd, owner_security_information), status::access_denied);
    file_id rw = open("f", read_control | write_dac | write_owner, file_open_disposition);
    EXPECT_EQ(set(rw, sd, sacl_security_information), status::access_denied);
    bytes bad = encode_security_descriptor(sd);
    bad[0] = 3; // Revision
    EXPECT_EQ(call(smb2::handle_set_info,
                   set_info_body(info_security, 0, rw, bad, dacl_security_information))
                  .status,
              status_invalid_security_descr);
    EXPECT_EQ(call(smb2::handle_set_info,
                   set_info_body(info_security, 0, rw, bytes(8), dacl_security_information))
                  .status,
              status::invalid_parameter);
    security_descriptor no_owner;
    EXPECT_EQ(set(rw, no_owner, owner_security_information), status_invalid_owner);
}

TEST_F(acl_commands, malformed_secd_fails_the_create) {
    bytes bad(20);
    bad[0] = 9;
    auto r = call(smb2::handle_create,
                  create_body("f", file_generic_read, file_create, 0, 7, 0, context("SecD", bad)));
    EXPECT_EQ(r.status, status_invalid_security_descr);
}

} // namespace
} // namespace smbx::vfs
