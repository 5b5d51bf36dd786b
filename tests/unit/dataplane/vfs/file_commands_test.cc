// CREATE, CLOSE, FLUSH, READ, WRITE, LOCK and CHANGE_NOTIFY through the handlers.
#include <sys/stat.h>

#include <filesystem>

#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/extended_attributes.hh"
#include "smb2_harness.hh"

namespace smbx::vfs {
namespace {

using namespace smbx::vfs::testing;
namespace fs = std::filesystem;

constexpr uint32_t rw = file_generic_read | file_generic_write;

class file_commands : public smb2_fixture {};

TEST_F(file_commands, create_write_read_close) {
    auto c = call(smb2::handle_create, create_body("dir_a.txt", rw, 2 /*CREATE*/));
    ASSERT_EQ(c.status, status::success);
    ASSERT_EQ(c.body.size(), 88u);
    EXPECT_EQ(c.u16(0), 89);
    EXPECT_EQ(c.u32(4), 2u);            // FILE_CREATED
    EXPECT_EQ(c.u32(56), attr_archive); // FileAttributes
    EXPECT_NE(c.u64(8), 0u);            // CreationTime
    EXPECT_EQ(c.u32(80), 0u);           // no contexts
    file_id id = id_of(c);
    EXPECT_EQ(chain.volatile_id, id.volatile_id); // related compounds see it

    auto w = call(smb2::handle_write, write_body(id, 0, "hello world"));
    ASSERT_EQ(w.status, status::success);
    EXPECT_EQ(w.u16(0), 17);
    EXPECT_EQ(w.u32(4), 11u);

    auto r = call(smb2::handle_read, read_body(id, 6, 100));
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.u16(0), 17);
    EXPECT_EQ(r.body[2], 0x50); // DataOffset
    EXPECT_EQ(r.u32(4), 5u);
    EXPECT_EQ(std::string(r.body.begin() + 16, r.body.end()), "world");

    // The placeholder FileId reaches the same open in a related compound only.
    EXPECT_EQ(call(smb2::handle_read, read_body({~0ULL, ~0ULL}, 0, 5)).status, status::file_closed);
    related = true;
    auto rr = call(smb2::handle_read, read_body({~0ULL, ~0ULL}, 0, 5));
    related = false;
    ASSERT_EQ(rr.status, status::success);
    EXPECT_EQ(std::string(rr.body.begin() + 16, rr.body.end()), "hello");

    auto cl = call(smb2::handle_close, close_body(id, 1));
    ASSERT_EQ(cl.status, status::success);
    ASSERT_EQ(cl.body.size(), 60u);
    EXPECT_EQ(cl.u16(2), 1);    // POSTQUERY_ATTRIB echoed
    EXPECT_EQ(cl.u64(48), 11u); // EndOfFile
    EXPECT_EQ(cl.u32(56), attr_archive);
    EXPECT_EQ(call(smb2::handle_close, close_body(id)).status, status::file_closed);
    EXPECT_EQ(call(smb2::handle_read, read_body(id, 0, 1)).status, status::file_closed);
}

TEST_F(file_commands, close_without_postquery_is_zeroed) {
    file_id id = open("f", rw, 5);
    auto cl = call(smb2::handle_close, close_body(id));
    ASSERT_EQ(cl.status, status::success);
    EXPECT_EQ(cl.u16(2), 0);
    EXPECT_EQ(cl.u64(8), 0u);
    EXPECT_EQ(cl.u32(56), 0u);
}

TEST_F(file_commands, read_errors) {
    share.write("f", "abc");
    file_id id = open("f", rw, 1);
    EXPECT_EQ(call(smb2::handle_read, read_body(id, 3, 10)).status, status::end_of_file);
    EXPECT_EQ(call(smb2::handle_read, read_body(id, 100, 10)).status, status::end_of_file);
    EXPECT_EQ(call(smb2::handle_read, read_body(id, 0, 10, 4)).status, status::end_of_file);
    EXPECT_EQ(call(smb2::handle_read, read_body(id, 0, 0)).status, status::success);
    EXPECT_EQ(call(smb2::handle_read, read_body(id, 0, smb2::connection::max_read_size + 1)).status,
              status::invalid_parameter);
    EXPECT_EQ(call(smb2::handle_read, read_body(id, 0, 3, 0, 1 /*RDMA_V1*/)).status,
              status::invalid_parameter);
    file_id wo = open("f", file_write_data, 1);
    EXPECT_EQ(call(smb2::handle_read, read_body(wo, 0, 1)).status, status::access_denied);
    file_id d = open("", file_generic_read, 1);
    EXPECT_EQ(call(smb2::handle_read, read_body(d, 0, 1)).status, status::invalid_device_request);
}

TEST_F(file_commands, write_errors_and_append) {
    file_id id = open("f", rw, 2);
    // Data offset past the message / inside the fixed part.
    auto bad = write_body(id, 0, "abc");
    bad[2] = 0xF0; // DataOffset 0xF0: beyond the message
    EXPECT_EQ(call(smb2::handle_write, bad).status, status::invalid_parameter);
    EXPECT_EQ(call(smb2::handle_write, write_body(id, 0, "abc", 0x40)).status,
              status::invalid_parameter);
    ASSERT_EQ(call(smb2::handle_write, write_body(id, 0, "abc")).status, status::success);
    // All-ones offset: only append-only opens write at the end; others are refused,
    // as are writes past INT64_MAX or the largest file size.
    EXPECT_EQ(call(smb2::handle_write, write_body(id, ~0ULL, "def")).status,
              status::invalid_parameter);
    EXPECT_EQ(call(smb2::handle_write, write_body(id, 0x7FFFFFFFFFFFFFFFULL, "d")).status,
              status::invalid_parameter);
    EXPECT_EQ(call(smb2::handle_write, write_body(id, 0xfffffff0000ULL, "d")).status,
              status::invalid_parameter);
    EXPECT_EQ(call(smb2::handle_write, write_body(id, 0xfffffff0000ULL, "")).status,
              status::success);
    EXPECT_EQ(call(smb2::handle_write, write_body(id, 0xfffffff0000ULL - 1, "d")).status,
              status::disk_full);
    file_id append_only = open("f", file_append_data, 1);
    ASSERT_EQ(call(smb2::handle_write, write_body(append_only, ~0ULL, "def")).status,
              status::success);
    file_id ro = open("f", file_generic_read, 1);
    EXPECT_EQ(call(smb2::handle_write, write_body(ro, 0, "x")).status, status::access_denied);
    // An append-only open writes at the end whatever the offset.
    file_id ap = open("f", file_append_data, 1);
    ASSERT_EQ(call(smb2::handle_write, write_body(ap, 0, "ghi")).status, status::success);
    auto r = call(smb2::handle_read, read_body(id, 0, 100));
    EXPECT_EQ(std::string(r.body.begin() + 16, r.body.end()), "abcdefghi");
}

TEST_F(file_commands, create_contexts) {
    bytes ctxs = context("MxAc", {}, false);
    auto q = context("QFid", {});
    ctxs.insert(ctxs.end(), q.begin(), q.end());
    auto c = call(smb2::handle_create, create_body("f", rw, 5, 0, 7, 0, ctxs));
    ASSERT_EQ(c.status, status::success);
    uint32_t off = c.u32(80), len = c.u32(84);
    ASSERT_EQ(off, 64u + 88u);
    ASSERT_EQ(c.body.size(), 88u + len);
    size_t p = off - 64;
    // MxAc: QueryStatus SUCCESS, MaximalAccess = all
    EXPECT_EQ(std::string(c.body.begin() + p + 16, c.body.begin() + p + 20), "MxAc");
    EXPECT_EQ(c.u32(p + 24), status::success);
    EXPECT_EQ(c.u32(p + 28), file_all_access);
    size_t next = c.u32(p);
    ASSERT_EQ(next, 32u);
    size_t p2 = p + next;
    EXPECT_EQ(std::string(c.body.begin() + p2 + 16, c.body.begin() + p2 + 20), "QFid");
    EXPECT_EQ(c.u32(p2 + 12), 32u); // DataLength
    struct stat st;
    ASSERT_EQ(::stat(share.path("f").c_str(), &st), 0);
    EXPECT_EQ(c.u64(p2 + 24), uint64_t(st.st_ino));
}

TEST_F(file_commands, create_request_validation) {
    EXPECT_EQ(call(smb2::handle_create, create_body("\\f", rw, 5)).status,
              status::invalid_parameter);
    EXPECT_EQ(call(smb2::handle_create, create_body("a\\..\\..\\x", rw, 5)).status,
              status::object_path_syntax_bad);
    EXPECT_EQ(call(smb2::handle_create, create_body("nul", rw, 5)).status,
              status::object_name_invalid);
    auto odd = create_body("ab", rw, 5);
    odd[46] = 3; // NameLength 3
    EXPECT_EQ(call(smb2::handle_create, odd).status, status::invalid_parameter);
    auto past = create_body("ab", rw, 5);
    past[46] = 200; // NameLength beyond the message
    EXPECT_EQ(call(smb2::handle_create, past).status, status::invalid_parameter);
    auto broken = context("MxAc", {});
    broken[4] = 200; // NameOffset outside the context
    EXPECT_EQ(call(smb2::handle_create, create_body("f", rw, 5, 0, 7, 0, broken)).status,
              status::invalid_parameter);
    EXPECT_EQ(
        call(smb2::handle_create, create_body("f", rw, 5, 0, 7, 0, context("ExtA", {1}))).status,
        vfs::status_ea_list_inconsistent);
    EXPECT_EQ(
        call(smb2::handle_create, create_body("f", rw, 5, 0, 7, 0, context("DHnC", bytes(16, 0))))
            .status,
        status::object_name_not_found);
    auto imp = create_body("f", rw, 5);
    imp[4] = 9; // ImpersonationLevel
    EXPECT_EQ(call(smb2::handle_create, imp).status, status::bad_impersonation_level);
    EXPECT_FALSE(fs::exists(share.path("f")));
}

TEST_F(file_commands, opens_belong_to_their_tree) {
    file_id id = open("f", rw, 5);
    auto t = std::make_shared<smb2::tree_connect>();
    t->id = 4;
    t->share.path = share.root();
    sess->add_tree(t);
    smb2::header h;
    byte_writer w;
    smb2::write_header(w, h);
    w.put(read_body(id, 0, 1));
    bytes msg = w.take();
    smb2::request req{*conn, h, msg, sess, t.get(), &chain};
    smb2::response resp;
    smb2::handle_read(req, resp);
    EXPECT_EQ(resp.status, status::file_closed);
}

TEST_F(file_commands, read_only_share) {
    share.write("f", "x");
    tree->share.read_only = true;
    EXPECT_EQ(call(smb2::handle_create, create_body("f", rw, 1)).status, status::access_denied);
    EXPECT_EQ(call(smb2::handle_create, create_body("g", file_generic_read, 2)).status,
              status::access_denied);
    file_id id = open("f", maximum_allowed, 1);
    EXPECT_EQ(call(smb2::handle_write, write_body(id, 0, "y")).status, status::access_denied);
    EXPECT_EQ(call(smb2::handle_flush, close_body(id)).status, status::access_denied);
    EXPECT_FALSE(fs::exists(share.path("g")));
}

TEST_F(file_commands, flush) {
    file_id id = open("f", rw, 5);
    auto r = call(smb2::handle_flush, close_body(id));
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.u16(0), 4);
}

TEST_F(file_commands, delete_on_close_through_close) {
    file_id id = open("gone", rw | delete_access, 2, 0x00001000);
    EXPECT_TRUE(fs::exists(share.path("gone")));
    ASSERT_EQ(call(smb2::handle_close, close_body(id)).status, status::success);
    EXPECT_FALSE(fs::exists(share.path("gone")));
}

TEST_F(file_commands, sharing_violation_across_opens) {
    file_id a = open("f", file_read_data | file_write_data, 5, 0, 0 /*no sharing*/);
    auto r = call(smb2::handle_create, create_body("f", file_read_data, 1));
    EXPECT_EQ(r.status, status::sharing_violation);
    call(smb2::handle_close, close_body(a));
    EXPECT_EQ(call(smb2::handle_create, create_body("f", file_read_data, 1)).status,
              status::success);
}

bytes lock_body(file_id id, std::vector<std::tuple<uint64_t, uint64_t, uint32_t>> locks) {
    byte_writer w;
    w.u16(48);
    w.u16(uint16_t(locks.size()));
    w.u32(0);
    w.u64(id.persistent);
    w.u64(id.volatile_id);
    for (auto [o, l, f] : locks) {
        w.u64(o);
        w.u64(l);
        w.u32(f);
        w.u32(0);
    }
    return w.take();
}

TEST_F(file_commands, byte_range_locks) {
    share.write("f", std::string(100, 'x'));
    file_id a = open("f", rw, 1);
    file_id b = open("f", rw, 1);
    constexpr uint32_t shared = 1, exclusive = 2, unlock = 4, fail_now = 0x10;
    ASSERT_EQ(call(smb2::handle_lock, lock_body(a, {{10, 10, exclusive | fail_now}})).status,
              status::success);
    EXPECT_EQ(call(smb2::handle_lock, lock_body(b, {{15, 1, shared | fail_now}})).status,
              status::lock_not_granted);
    EXPECT_EQ(call(smb2::handle_lock, lock_body(b, {{15, 1, exclusive}})).status,
              status::lock_not_granted); // would wait: refused at once
    EXPECT_EQ(call(smb2::handle_read, read_body(b, 12, 2)).status, status::file_lock_conflict);
    EXPECT_EQ(call(smb2::handle_write, write_body(b, 19, "y")).status, status::file_lock_conflict);
    EXPECT_EQ(call(smb2::handle_read, read_body(a, 12, 2)).status, status::success);
    EXPECT_EQ(call(smb2::handle_read, read_body(b, 20, 2)).status, status::success);
    EXPECT_EQ(call(smb2::handle_lock, lock_body(b, {{10, 10, unlock}})).status,
              status::range_not_locked);
    EXPECT_EQ(call(smb2::handle_lock, lock_body(a, {{10, 5, unlock}})).status,
              status::range_not_locked);
    // A failing element undoes the earlier ones of the same request.
    EXPECT_EQ(call(smb2::handle_lock,
                   lock_body(b, {{50, 1, exclusive | fail_now}, {12, 1, shared | fail_now}}))
                  .status,
              status::lock_not_granted);
    EXPECT_EQ(call(smb2::handle_lock, lock_body(a, {{50, 1, exclusive | fail_now}})).status,
              status::success);
    ASSERT_EQ(call(smb2::handle_lock, lock_body(a, {{10, 10, unlock}})).status, status::success);
    EXPECT_EQ(call(smb2::handle_lock, lock_body(b, {{15, 1, shared | fail_now}})).status,
              status::success);
    // Closing an open releases its locks.
    call(smb2::handle_close, close_body(a));
    EXPECT_EQ(call(smb2::handle_lock, lock_body(b, {{50, 1, exclusive | fail_now}})).status,
              status::success);
}

TEST_F(file_commands, lock_validation) {
    share.write("f", "x");
    file_id a = open("f", rw, 1);
    EXPECT_EQ(call(smb2::handle_lock, lock_body(a, {})).status, status::invalid_parameter);
    EXPECT_EQ(call(smb2::handle_lock, lock_body(a, {{0, 1, 3 | 0x10}})).status,
              status::invalid_parameter); // shared and exclusive
    EXPECT_EQ(call(smb2::handle_lock, lock_body(a, {{0, 1, 0x12}, {5, 1, 4}})).status,
              status::invalid_parameter); // lock and unlock mixed
    EXPECT_EQ(call(smb2::handle_lock, lock_body(a, {{0, 1, 2}, {5, 1, 2}})).status,
              status::invalid_parameter); // waiting locks only alone
    EXPECT_EQ(call(smb2::handle_lock, lock_body(a, {{~0ULL, 2, 0x12}})).status, 0xC00001A1u);
    EXPECT_EQ(call(smb2::handle_lock, lock_body(a, {{~0ULL, 1, 0x12}})).status, status::success);
    auto truncated = lock_body(a, {{0, 1, 0x12}});
    truncated.resize(truncated.size() - 4);
    EXPECT_EQ(call(smb2::handle_lock, truncated).status, status::invalid_parameter);
}

TEST_F(file_commands, change_notify_waits_for_a_change) {
    file_id d = open("", file_generic_read, 1);
    byte_writer w;
    w.u16(32);
    w.u16(0);
    w.u32(4096);
    w.u64(d.persistent);
    w.u64(d.volatile_id);
    w.u32(0x17);
    w.u32(0);
    // No change yet: the request goes asynchronous (engine tests cover the rest).
    EXPECT_EQ(call(smb2::handle_change_notify, w.take()).status, status::pending);
    EXPECT_EQ(conn->async_ops.size(), 1u);
}

} // namespace
} // namespace smbx::vfs
