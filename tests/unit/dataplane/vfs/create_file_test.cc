#include "dataplane/vfs/create_file.hh"

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/ntstatus.hh"
#include "dataplane/vfs/access.hh"
#include "test_share.hh"

namespace smbx::vfs {
namespace {

using testing::name;
using testing::temp_share;
namespace fs = std::filesystem;

create_params params(uint32_t disposition, uint32_t access = file_generic_read | file_generic_write,
                     uint32_t options = 0) {
    create_params p;
    p.desired_access = access;
    p.share_access = file_share_valid;
    p.disposition = disposition;
    p.options = options;
    return p;
}

TEST(create_file, dispositions_on_missing_file) {
    temp_share s;
    EXPECT_EQ(create_file(s.root(), false, name("a"), params(file_open_disposition)).status,
              status::object_name_not_found);
    EXPECT_EQ(create_file(s.root(), false, name("a"), params(file_overwrite)).status,
              status::object_name_not_found);
    for (uint32_t d : {file_supersede, file_create, file_open_if, file_overwrite_if}) {
        fs::remove(s.path("a"));
        auto r = create_file(s.root(), false, name("a"), params(d));
        ASSERT_EQ(r.status, status::success) << d;
        EXPECT_EQ(r.action, file_created) << d;
        EXPECT_TRUE(fs::exists(s.path("a")));
    }
}

TEST(create_file, dispositions_on_existing_file) {
    temp_share s;
    struct {
        uint32_t disposition;
        uint32_t status;
        uint32_t action;
        bool truncated;
    } cases[] = {
        {file_supersede, status::success, file_superseded, true},
        {file_open_disposition, status::success, file_opened, false},
        {file_create, status::object_name_collision, 0, false},
        {file_open_if, status::success, file_opened, false},
        {file_overwrite, status::success, file_overwritten, true},
        {file_overwrite_if, status::success, file_overwritten, true},
    };
    for (const auto& c : cases) {
        s.write("f", "12345");
        auto r = create_file(s.root(), false, name("f"), params(c.disposition));
        EXPECT_EQ(r.status, c.status) << c.disposition;
        if (r.status == status::success) {
            EXPECT_EQ(r.action, c.action) << c.disposition;
        }
        EXPECT_EQ(fs::file_size(s.path("f")), c.truncated ? 0u : 5u) << c.disposition;
    }
}

TEST(create_file, directory_options) {
    temp_share s;
    fs::create_directory(s.path("d"));
    s.write("f", "x");
    EXPECT_EQ(create_file(s.root(), false, name("d"),
                          params(file_open_disposition, file_generic_read, file_non_directory_file))
                  .status,
              status::file_is_a_directory);
    EXPECT_EQ(create_file(s.root(), false, name("f"),
                          params(file_open_disposition, file_generic_read, file_directory_file))
                  .status,
              status::not_a_directory);
    EXPECT_EQ(create_file(s.root(), false, name("x"),
                          params(file_create, file_generic_read,
                                 file_directory_file | file_non_directory_file))
                  .status,
              status::invalid_parameter);
    EXPECT_EQ(create_file(s.root(), false, name("x"),
                          params(file_overwrite_if, file_generic_read, file_directory_file))
                  .status,
              status::invalid_parameter);
    auto r = create_file(s.root(), false, name("newdir"),
                         params(file_create, file_generic_read, file_directory_file));
    ASSERT_EQ(r.status, status::success);
    EXPECT_TRUE(fs::is_directory(s.path("newdir")));
    EXPECT_TRUE(r.open->is_directory());
    EXPECT_EQ(r.open->info()->attributes, attr_directory);
}

TEST(create_file, root_opens_as_directory) {
    temp_share s;
    auto r =
        create_file(s.root(), false, name(""), params(file_open_disposition, file_generic_read));
    ASSERT_EQ(r.status, status::success);
    EXPECT_TRUE(r.open->is_directory());
    EXPECT_EQ(create_file(s.root(), false, name(""), params(file_create)).status,
              status::object_name_collision);
}

TEST(create_file, read_only_share) {
    temp_share s;
    s.write("f", "x");
    EXPECT_EQ(create_file(s.root(), true, name("new"), params(file_create)).status,
              status::access_denied);
    EXPECT_EQ(create_file(s.root(), true, name("f"), params(file_open_disposition)).status,
              status::access_denied);
    EXPECT_EQ(
        create_file(s.root(), true, name("f"), params(file_overwrite_if, file_generic_read)).status,
        status::access_denied);
    auto r = create_file(s.root(), true, name("f"), params(file_open_disposition, maximum_allowed));
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.open->granted_access, read_only_access);
    EXPECT_EQ(r.maximal_access, read_only_access);
    EXPECT_FALSE(fs::exists(s.path("new")));
}

TEST(create_file, maximum_allowed_and_generic_mapping) {
    temp_share s;
    s.write("f", "x");
    auto r =
        create_file(s.root(), false, name("f"), params(file_open_disposition, maximum_allowed));
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.open->granted_access, file_all_access);
    auto g = create_file(s.root(), false, name("f"), params(file_open_disposition, generic_read));
    ASSERT_EQ(g.status, status::success);
    EXPECT_EQ(g.open->granted_access, file_generic_read);
    EXPECT_EQ(create_file(s.root(), false, name("f"),
                          params(file_open_disposition, access_system_security))
                  .status,
              status::privilege_not_held);
}

TEST(create_file, sharing_violation) {
    temp_share s;
    s.write("f", "x");
    auto p = params(file_open_disposition, file_read_data);
    p.share_access = file_share_read;
    auto a = create_file(s.root(), false, name("f"), p);
    ASSERT_EQ(a.status, status::success);
    // Another reader that shares read: fine.
    auto b = create_file(s.root(), false, name("F"), p);
    EXPECT_EQ(b.status, status::success);
    // A writer conflicts with opens that do not share write.
    EXPECT_EQ(
        create_file(s.root(), false, name("f"), params(file_open_disposition, file_write_data))
            .status,
        status::sharing_violation);
    // Attribute-only opens never conflict.
    auto attr = params(file_open_disposition, file_read_attributes);
    attr.share_access = 0;
    EXPECT_EQ(create_file(s.root(), false, name("f"), attr).status, status::success);
    a.open.reset();
    b.open.reset();
    EXPECT_EQ(
        create_file(s.root(), false, name("f"), params(file_open_disposition, file_write_data))
            .status,
        status::success);
}

TEST(create_file, delete_on_close) {
    temp_share s;
    s.write("f", "x");
    EXPECT_EQ(create_file(s.root(), false, name("f"),
                          params(file_open_disposition, file_generic_read, file_delete_on_close))
                  .status,
              status::invalid_parameter);
    auto r = create_file(
        s.root(), false, name("f"),
        params(file_open_disposition, file_generic_read | delete_access, file_delete_on_close));
    ASSERT_EQ(r.status, status::success);
    EXPECT_TRUE(r.open->delete_pending());
    EXPECT_TRUE(fs::exists(s.path("f")));
    r.open.reset();
    EXPECT_FALSE(fs::exists(s.path("f")));
}

TEST(create_file, delete_on_close_waits_for_last_open) {
    temp_share s;
    s.write("f", "x");
    auto other = create_file(s.root(), false, name("f"), params(file_open_disposition));
    ASSERT_EQ(other.status, status::success);
    auto r = create_file(s.root(), false, name("f"),
                         params(file_open_disposition, delete_access, file_delete_on_close));
    ASSERT_EQ(r.status, status::success);
    r.open.reset();
    EXPECT_TRUE(fs::exists(s.path("f")));
    // Now delete pending: new opens fail.
    EXPECT_EQ(create_file(s.root(), false, name("f"), params(file_open_disposition)).status,
              status::delete_pending);
    other.open.reset();
    EXPECT_FALSE(fs::exists(s.path("f")));
}

TEST(create_file, readonly_attribute) {
    temp_share s;
    auto p = params(file_create);
    p.file_attributes = attr_readonly;
    auto r = create_file(s.root(), false, name("ro"), p);
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.open->info()->attributes, attr_readonly | attr_archive);
    r.open.reset();
    EXPECT_EQ(create_file(s.root(), false, name("ro"), params(file_open_disposition)).status,
              status::access_denied);
    EXPECT_EQ(create_file(s.root(), false, name("ro"), params(file_overwrite_if)).status,
              status::access_denied);
    EXPECT_EQ(create_file(s.root(), false, name("ro"),
                          params(file_open_disposition, delete_access, file_delete_on_close))
                  .status,
              status::cannot_delete);
    auto ro =
        create_file(s.root(), false, name("ro"), params(file_open_disposition, file_generic_read));
    EXPECT_EQ(ro.status, status::success);
}

TEST(create_file, hidden_must_be_kept_on_overwrite) {
    temp_share s;
    auto p = params(file_create);
    p.file_attributes = attr_hidden;
    ASSERT_EQ(create_file(s.root(), false, name("h"), p).status, status::success);
    EXPECT_EQ(create_file(s.root(), false, name("h"), params(file_overwrite_if)).status,
              status::access_denied);
    auto q = params(file_overwrite_if);
    q.file_attributes = attr_hidden;
    EXPECT_EQ(create_file(s.root(), false, name("h"), q).status, status::success);
}

TEST(create_file, case_insensitive_open_of_existing) {
    temp_share s;
    s.write("Mixed.TXT", "x");
    auto r = create_file(s.root(), false, name("mixed.txt"), params(file_open_if));
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.action, file_opened);
    EXPECT_EQ(r.open->relative_name(), "Mixed.TXT");
    EXPECT_FALSE(fs::exists(s.path("mixed.txt")));
}

TEST(create_file, refuses_symlinks_and_special_files) {
    temp_share s;
    fs::create_symlink("/etc/passwd", s.path("link"));
    ASSERT_EQ(::mkfifo(s.path("fifo").c_str(), 0644), 0);
    EXPECT_EQ(create_file(s.root(), false, name("link"), params(file_open_disposition)).status,
              status::access_denied);
    EXPECT_EQ(create_file(s.root(), false, name("link"), params(file_overwrite_if)).status,
              status::access_denied);
    EXPECT_EQ(create_file(s.root(), false, name("fifo"), params(file_open_disposition)).status,
              status::access_denied);
}

TEST(create_file, invalid_parameters) {
    temp_share s;
    EXPECT_EQ(create_file(s.root(), false, name("a"), params(6)).status, status::invalid_parameter);
    auto p = params(file_create);
    p.share_access = 8;
    EXPECT_EQ(create_file(s.root(), false, name("a"), p).status, status::invalid_parameter);
    EXPECT_EQ(create_file(s.root(), false, name("a"),
                          params(file_create, file_generic_read, file_reserve_opfilter))
                  .status,
              status::not_supported);
    EXPECT_EQ(create_file(s.root(), false, name("a"), params(file_create, 0x00400000)).status,
              status::access_denied);
    EXPECT_EQ(create_file(s.root(), false, name("a"), params(file_create, 0)).status,
              status::access_denied);
    EXPECT_EQ(create_file(s.root(), false, name("a"), params(file_create, synchronize)).status,
              status::access_denied);
    EXPECT_EQ(create_file(s.root(), false, name("a"), params(file_create, file_generic_read, 0x80))
                  .status,
              status::not_supported);
    for (uint32_t bad_attr : {0x8u, 0x40u, 0x8000u, 0x10000u}) {
        auto q = params(file_create);
        q.file_attributes = bad_attr;
        EXPECT_EQ(create_file(s.root(), false, name("a"), q).status, status::invalid_parameter);
    }
    EXPECT_FALSE(fs::exists(s.path("a")));
}

} // namespace
} // namespace smbx::vfs
