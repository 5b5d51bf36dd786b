// QUERY_DIRECTORY, QUERY_INFO and SET_INFO through the handlers.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "dataplane/smb2/fscc.hh"
#include "dataplane/vfs/access.hh"
#include "smb2_harness.hh"

namespace smbx::vfs {
namespace {

using namespace smbx::vfs::testing;
namespace fs = std::filesystem;

constexpr uint32_t rw = file_generic_read | file_generic_write;

class info_commands : public smb2_fixture {
protected:
    // Names in a QUERY_DIRECTORY response of FileIdBothDirectoryInformation, checking
    // the entry chain on the way.
    std::vector<std::string> names_of(const result& r, uint8_t cls) {
        std::vector<std::string> out;
        EXPECT_EQ(r.u16(0), 9);
        EXPECT_EQ(r.u16(2), 72);
        size_t len = r.u32(4);
        EXPECT_EQ(len + 8, r.body.size());
        size_t pos = 8;
        size_t fixed = smb2::fscc::dir_entry_fixed_size(cls);
        size_t name_len_at = cls == smb2::fscc::file_names_information ? 8 : 60;
        for (;;) {
            uint32_t next = r.u32(pos);
            uint32_t nlen = r.u32(pos + name_len_at);
            std::string n;
            utf16le_to_utf8(byte_span(r.body.data() + pos + fixed, nlen), n);
            out.push_back(n);
            if (!next) {
                EXPECT_EQ(pos + fixed + nlen, r.body.size());
                break;
            }
            EXPECT_EQ(next % 8, 0u);
            EXPECT_GE(next, fixed + nlen);
            pos += next;
        }
        return out;
    }
};

constexpr uint8_t id_both = smb2::fscc::file_id_both_directory_information;

TEST_F(info_commands, directory_listing) {
    share.write("a.txt", "1");
    share.write("B.TXT", "22");
    fs::create_directory(share.path("sub"));
    fs::create_symlink("/etc", share.path("link"));
    file_id d = open("", file_generic_read, 1);

    auto r = call(smb2::handle_query_directory, query_dir_body(d, id_both, 0, "*"));
    ASSERT_EQ(r.status, status::success);
    auto names = names_of(r, id_both);
    ASSERT_GE(names.size(), 2u);
    EXPECT_EQ(names[0], ".");
    EXPECT_EQ(names[1], "..");
    std::set<std::string> rest(names.begin() + 2, names.end());
    EXPECT_EQ(rest, (std::set<std::string>{"a.txt", "B.TXT", "sub"}));
    EXPECT_EQ(call(smb2::handle_query_directory, query_dir_body(d, id_both, 0, "")).status,
              status::no_more_files);

    // Restart with a new pattern, case-insensitive.
    auto t = call(smb2::handle_query_directory, query_dir_body(d, id_both, 0x01, "*.txt"));
    ASSERT_EQ(t.status, status::success);
    auto txt = names_of(t, id_both);
    std::sort(txt.begin(), txt.end());
    EXPECT_EQ(txt, (std::vector<std::string>{"B.TXT", "a.txt"}));

    EXPECT_EQ(
        call(smb2::handle_query_directory, query_dir_body(d, id_both, 0x10, "nothing*")).status,
        status::no_such_file);
}

TEST_F(info_commands, directory_entry_fields) {
    share.write("file.bin", std::string(1000, 'z'));
    file_id d = open("", file_generic_read, 1);
    auto r = call(smb2::handle_query_directory, query_dir_body(d, id_both, 0, "FILE.BIN"));
    ASSERT_EQ(r.status, status::success);
    ASSERT_EQ(names_of(r, id_both), std::vector<std::string>{"file.bin"});
    struct stat st;
    ::stat(share.path("file.bin").c_str(), &st);
    size_t e = 8;
    EXPECT_EQ(r.u64(e + 40), 1000u);               // EndOfFile
    EXPECT_EQ(r.u32(e + 56), attr_archive);        // FileAttributes
    EXPECT_EQ(r.u64(e + 96), uint64_t(st.st_ino)); // FileId
    EXPECT_EQ(r.body[e + 68], 16);                 // ShortNameLength: "FILE.BIN"
    EXPECT_EQ(r.body[e + 70], 'F');
}

TEST_F(info_commands, directory_single_entry_and_small_buffers) {
    for (int i = 0; i < 20; ++i) {
        share.write("file" + std::to_string(i), "x");
    }
    file_id d = open("", file_generic_read, 1);
    auto one = call(smb2::handle_query_directory, query_dir_body(d, id_both, 0x02, "*"));
    ASSERT_EQ(one.status, status::success);
    EXPECT_EQ(names_of(one, id_both).size(), 1u);
    // A buffer that holds about two entries at a time still lists everything once.
    std::multiset<std::string> all;
    uint8_t flags = 0x01;
    for (int guard = 0; guard < 100; ++guard) {
        auto r = call(smb2::handle_query_directory, query_dir_body(d, id_both, flags, "*", 260));
        flags = 0;
        if (r.status == status::no_more_files) {
            break;
        }
        ASSERT_EQ(r.status, status::success);
        ASSERT_LE(r.body.size() - 8, 260u);
        for (auto& n : names_of(r, id_both)) {
            all.insert(n);
        }
    }
    EXPECT_EQ(all.size(), 22u);
    EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 22u);
    EXPECT_EQ(call(smb2::handle_query_directory, query_dir_body(d, id_both, 0x01, "*", 50)).status,
              status::info_length_mismatch);
}

TEST_F(info_commands, directory_classes_and_errors) {
    share.write("f", "x");
    file_id d = open("", file_generic_read, 1);
    for (uint8_t cls : {1, 2, 3, 12, 37, 38, 60}) {
        auto r = call(smb2::handle_query_directory, query_dir_body(d, cls, 0x01, "f"));
        ASSERT_EQ(r.status, status::success) << int(cls);
        EXPECT_EQ(names_of(r, cls), std::vector<std::string>{"f"}) << int(cls);
    }
    EXPECT_EQ(call(smb2::handle_query_directory, query_dir_body(d, 4, 0x01, "*")).status,
              status::invalid_info_class);
    file_id f = open("f", file_generic_read, 1);
    EXPECT_EQ(call(smb2::handle_query_directory, query_dir_body(f, id_both, 0, "*")).status,
              status::invalid_parameter);
    file_id noaccess = open("", file_read_attributes, 1);
    EXPECT_EQ(call(smb2::handle_query_directory, query_dir_body(noaccess, id_both, 0, "*")).status,
              status::access_denied);
}

TEST_F(info_commands, query_file_classes) {
    share.write("f", "0123456789");
    file_id id = open("f", rw, 1);
    auto basic = call(smb2::handle_query_info, query_info_body(1, 4, id));
    ASSERT_EQ(basic.status, status::success);
    EXPECT_EQ(basic.u16(0), 9);
    EXPECT_EQ(basic.u16(2), 72);
    EXPECT_EQ(basic.u32(4), 40u);
    EXPECT_EQ(basic.u32(8 + 32), attr_archive);

    auto standard = call(smb2::handle_query_info, query_info_body(1, 5, id));
    ASSERT_EQ(standard.u32(4), 24u);
    EXPECT_EQ(standard.u64(8 + 8), 10u); // EndOfFile
    EXPECT_EQ(standard.u32(8 + 16), 1u); // NumberOfLinks
    EXPECT_EQ(standard.body[8 + 21], 0); // Directory

    auto all = call(smb2::handle_query_info, query_info_body(1, 18, id));
    ASSERT_EQ(all.status, status::success);
    EXPECT_EQ(all.u32(4), 104u); // "\f" in UTF-16, padded to the C structure size
    EXPECT_EQ(all.u32(8 + 96), 4u);
    EXPECT_EQ(all.u32(8 + 76), rw); // AccessFlags

    // Variable part cut short: BUFFER_OVERFLOW with what fits; fixed part: mismatch.
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 18, id, 103)).status,
              status::info_length_mismatch);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 18, id, 104)).status,
              status::success);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 4, id, 39)).status,
              status::info_length_mismatch);

    auto streams = call(smb2::handle_query_info, query_info_body(1, 22, id));
    ASSERT_EQ(streams.status, status::success);
    EXPECT_EQ(streams.u32(4), 24u + 14);
    EXPECT_EQ(streams.u64(8 + 8), 10u);
    std::string sn;
    utf16le_to_utf8(byte_span(streams.body.data() + 8 + 24, 14), sn);
    EXPECT_EQ(sn, "::$DATA");

    auto alt = call(smb2::handle_query_info, query_info_body(1, 21, id));
    ASSERT_EQ(alt.status, status::success);
    EXPECT_EQ(alt.u32(8), 2u); // "F"
    EXPECT_EQ(alt.body[12], 'F');
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 34, id)).u32(4), 56u);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 35, id)).u32(4), 8u);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 6, id)).u32(4), 8u);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 11, id)).status,
              status::not_supported); // FileLinkInformation: set-only
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 42, id)).status,
              status::invalid_info_class);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 200, id)).status,
              status::invalid_info_class);

    file_id noattr = open("f", file_read_data, 1);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 4, noattr)).status,
              status::access_denied);
}

TEST_F(info_commands, query_truncates_variable_part) {
    share.write("a_rather_long_name.txt", "x");
    file_id id = open("a_rather_long_name.txt", file_generic_read, 1);
    auto full = call(smb2::handle_query_info, query_info_body(1, 18, id));
    ASSERT_EQ(full.status, status::success);
    size_t n = full.u32(4);
    EXPECT_EQ(n, 100u + 2 * 23);
    auto cut = call(smb2::handle_query_info, query_info_body(1, 18, id, 110));
    EXPECT_EQ(cut.status, status::buffer_overflow);
    EXPECT_FALSE(cut.error);
    EXPECT_EQ(cut.u32(4), 110u);
    EXPECT_EQ(cut.u32(8 + 96), 2u * 23); // the length field still says the whole name
    auto vol = call(smb2::handle_query_info, query_info_body(2, 1, id, 24));
    EXPECT_EQ(vol.status, status::buffer_overflow); // "share" needs 28
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(2, 1, id, 23)).status,
              status::info_length_mismatch);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(2, 5, id, 15)).status,
              status::info_length_mismatch);
    auto norm =
        call(smb2::handle_query_info, query_info_body(1, 48, open("", file_generic_read, 1)));
    ASSERT_EQ(norm.status, status::success);
    EXPECT_EQ(norm.u32(8), 0u); // the root's normalized name is empty
}

TEST_F(info_commands, query_directory_stream_and_name) {
    fs::create_directories(share.path("d1/d2"));
    file_id d = open("D1\\d2", file_generic_read, 1);
    auto streams = call(smb2::handle_query_info, query_info_body(1, 22, d));
    ASSERT_EQ(streams.status, status::success);
    EXPECT_EQ(streams.u32(4), 0u);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 22, d, 31)).status,
              status::info_length_mismatch);
    auto name = call(smb2::handle_query_info, query_info_body(1, 9, d));
    ASSERT_EQ(name.status, status::success);
    std::string n;
    utf16le_to_utf8(byte_span(name.body.data() + 12, name.u32(8)), n);
    EXPECT_EQ(n, "\\d1\\d2");
}

TEST_F(info_commands, query_filesystem_classes) {
    file_id d = open("", file_generic_read, 1);
    auto attr = call(smb2::handle_query_info, query_info_body(2, 5, d));
    ASSERT_EQ(attr.status, status::success);
    EXPECT_EQ(attr.u32(8 + 4), 255u);
    EXPECT_EQ(attr.u32(8 + 8), 8u);
    std::string fsname;
    utf16le_to_utf8(byte_span(attr.body.data() + 8 + 12, 8), fsname);
    EXPECT_EQ(fsname, "NTFS");
    auto full = call(smb2::handle_query_info, query_info_body(2, 7, d));
    ASSERT_EQ(full.u32(4), 32u);
    EXPECT_GT(full.u64(8), 0u);
    EXPECT_LE(full.u64(8 + 8), full.u64(8));
    EXPECT_EQ(full.u32(8 + 28), 512u);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(2, 1, d)).u32(4), 18u + 10);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(2, 3, d)).u32(4), 24u);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(2, 4, d)).u32(4), 8u);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(2, 11, d)).u32(4), 28u);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(2, 8, d)).u32(4), 64u);
    auto control = call(smb2::handle_query_info, query_info_body(2, 6, d));
    ASSERT_EQ(control.status, status::success);
    EXPECT_EQ(control.u32(4), 48u);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(2, 99, d)).status,
              status::invalid_info_class);
}

TEST_F(info_commands, query_security_descriptor) {
    share.write("f", "x");
    file_id id = open("f", file_generic_read, 1);
    auto sd = call(smb2::handle_query_info, query_info_body(3, 0, id, 4096, 0x7));
    ASSERT_EQ(sd.status, status::success);
    size_t b = 8;
    EXPECT_EQ(sd.body[b], 1);         // Revision
    EXPECT_EQ(sd.u16(b + 2), 0x8004); // SELF_RELATIVE | DACL_PRESENT
    uint32_t owner = sd.u32(b + 4), dacl = sd.u32(b + 16);
    EXPECT_EQ(sd.body[b + owner + 7], 22); // S-1-22-...
    EXPECT_EQ(sd.u32(b + owner + 8), 1u);
    EXPECT_EQ(sd.u16(b + dacl + 4), 2); // AceCount: Everyone, SYSTEM (synthesized)
    EXPECT_EQ(sd.u32(b + dacl + 12), file_all_access);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(3, 0, id, 10, 0x7)).status,
              status::buffer_too_small);
    file_id noctl = open("f", file_read_data, 1);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(3, 0, noctl, 4096, 0x7)).status,
              status::access_denied);
}

bytes rename_info(std::string_view target, bool replace, uint64_t root = 0) {
    bytes n = utf16le(target);
    byte_writer w;
    w.u8(replace);
    w.zeros(7);
    w.u64(root);
    w.u32(uint32_t(n.size()));
    w.put(n);
    return w.take();
}

TEST_F(info_commands, rename) {
    share.write("a", "data");
    share.write("taken", "other");
    fs::create_directory(share.path("dir"));
    file_id id = open("a", rw | delete_access, 1);
    EXPECT_EQ(
        call(smb2::handle_set_info, set_info_body(1, 10, id, rename_info("taken", false))).status,
        status::object_name_collision);
    EXPECT_EQ(
        call(smb2::handle_set_info, set_info_body(1, 10, id, rename_info("x", false, 5))).status,
        status::invalid_parameter);
    EXPECT_EQ(
        call(smb2::handle_set_info, set_info_body(1, 10, id, rename_info("..\\x", false))).status,
        status::object_path_syntax_bad);
    EXPECT_EQ(
        call(smb2::handle_set_info, set_info_body(1, 10, id, rename_info("no\\x", false))).status,
        status::object_path_not_found);
    ASSERT_EQ(call(smb2::handle_set_info, set_info_body(1, 10, id, rename_info("\\dir\\b", false)))
                  .status,
              status::success);
    EXPECT_FALSE(fs::exists(share.path("a")));
    EXPECT_TRUE(fs::exists(share.path("dir/b")));
    // The handle keeps working and knows its new name.
    auto r = call(smb2::handle_read, read_body(id, 0, 4));
    EXPECT_EQ(std::string(r.body.begin() + 16, r.body.end()), "data");
    auto name = call(smb2::handle_query_info, query_info_body(1, 9, id));
    std::string n;
    utf16le_to_utf8(byte_span(name.body.data() + 12, name.u32(8)), n);
    EXPECT_EQ(n, "\\dir\\b");
    // Replace an existing file.
    ASSERT_EQ(
        call(smb2::handle_set_info, set_info_body(1, 10, id, rename_info("TAKEN", true))).status,
        status::success);
    EXPECT_FALSE(fs::exists(share.path("dir/b")));
    std::ifstream in(share.path("taken"));
    std::string content;
    in >> content;
    EXPECT_EQ(content, "data");
    // Without DELETE access: denied.
    file_id plain = open("taken", file_generic_read, 1);
    EXPECT_EQ(
        call(smb2::handle_set_info, set_info_body(1, 10, plain, rename_info("z", false))).status,
        status::access_denied);
}

TEST_F(info_commands, rename_case_only_and_open_target) {
    share.write("name", "x");
    share.write("busy", "y");
    file_id id = open("name", delete_access | file_read_attributes, 1);
    ASSERT_EQ(
        call(smb2::handle_set_info, set_info_body(1, 10, id, rename_info("NAME", false))).status,
        status::success);
    EXPECT_TRUE(fs::exists(share.path("NAME")));
    EXPECT_FALSE(fs::exists(share.path("name")));
    file_id busy = open("busy", file_generic_read, 1);
    (void)busy;
    EXPECT_EQ(
        call(smb2::handle_set_info, set_info_body(1, 10, id, rename_info("busy", true))).status,
        status::access_denied);
}

TEST_F(info_commands, disposition) {
    share.write("f", "x");
    fs::create_directories(share.path("full/inner"));
    file_id id = open("f", rw | delete_access, 1);
    ASSERT_EQ(call(smb2::handle_set_info, set_info_body(1, 13, id, {1})).status, status::success);
    auto st = call(smb2::handle_query_info, query_info_body(1, 5, id));
    EXPECT_EQ(st.body[8 + 20], 1); // DeletePending
    EXPECT_EQ(call(smb2::handle_create, create_body("f", file_generic_read, 1)).status,
              status::delete_pending);
    call(smb2::handle_close, close_body(id));
    EXPECT_FALSE(fs::exists(share.path("f")));

    file_id dir = open("full", file_generic_read | delete_access, 1);
    EXPECT_EQ(call(smb2::handle_set_info, set_info_body(1, 13, dir, {1})).status,
              status::directory_not_empty);
    EXPECT_EQ(call(smb2::handle_set_info, set_info_body(1, 13, dir, {})).status,
              status::info_length_mismatch);
    file_id nodel = open("full", file_generic_read, 1);
    EXPECT_EQ(call(smb2::handle_set_info, set_info_body(1, 13, nodel, {1})).status,
              status::access_denied);

    // Cleared again before close: the file stays.
    share.write("keep", "x");
    file_id k = open("keep", delete_access, 1);
    ASSERT_EQ(call(smb2::handle_set_info, set_info_body(1, 13, k, {1})).status, status::success);
    ASSERT_EQ(call(smb2::handle_set_info, set_info_body(1, 13, k, {0})).status, status::success);
    call(smb2::handle_close, close_body(k));
    EXPECT_TRUE(fs::exists(share.path("keep")));
}

bytes basic_info(int64_t write_time, uint32_t attributes) {
    byte_writer w;
    w.u64(0);
    w.u64(0);
    w.u64(uint64_t(write_time));
    w.u64(0);
    w.u32(attributes);
    w.u32(0);
    return w.take();
}

TEST_F(info_commands, basic_times_and_attributes) {
    share.write("f", "x");
    file_id id = open("f", rw | delete_access, 1);
    // 2020-01-01T00:00:00Z as FILETIME
    int64_t t = 132223104000000000LL;
    ASSERT_EQ(call(smb2::handle_set_info, set_info_body(1, 4, id, basic_info(t, 0))).status,
              status::success);
    struct stat st;
    ::stat(share.path("f").c_str(), &st);
    EXPECT_EQ(st.st_mtime, 1577836800);
    ASSERT_EQ(call(smb2::handle_set_info,
                   set_info_body(1, 4, id, basic_info(-1, attr_readonly | attr_hidden)))
                  .status,
              status::success);
    ::stat(share.path("f").c_str(), &st);
    EXPECT_EQ(st.st_mtime, 1577836800); // -1: unchanged
    auto b = call(smb2::handle_query_info, query_info_body(1, 4, id));
    EXPECT_EQ(b.u32(8 + 32), attr_readonly | attr_hidden);
    EXPECT_EQ(call(smb2::handle_set_info, set_info_body(1, 13, id, {1})).status,
              status::cannot_delete);
    EXPECT_EQ(
        call(smb2::handle_set_info, set_info_body(1, 4, id, basic_info(0, attr_directory))).status,
        status::invalid_parameter);
    ASSERT_EQ(
        call(smb2::handle_set_info, set_info_body(1, 4, id, basic_info(0, attr_normal))).status,
        status::success);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 4, id)).u32(8 + 32), attr_normal);
    file_id ro = open("f", file_generic_read, 1);
    EXPECT_EQ(call(smb2::handle_set_info, set_info_body(1, 4, ro, basic_info(t, 0))).status,
              status::access_denied);
}

TEST_F(info_commands, change_time_is_kept_until_data_changes) {
    share.write("f", "x");
    file_id id = open("f", rw, 1);
    byte_writer w;
    w.u64(132223104000000000ULL); // creation
    w.u64(132223104000000000ULL); // access
    w.u64(132223104000000000ULL); // write
    w.u64(132000000000000000ULL); // change
    w.u32(0);
    w.u32(0);
    ASSERT_EQ(call(smb2::handle_set_info, set_info_body(1, 4, id, w.take())).status,
              status::success);
    auto b = call(smb2::handle_query_info, query_info_body(1, 4, id));
    EXPECT_EQ(b.u64(8), 132223104000000000ULL);
    EXPECT_EQ(b.u64(8 + 16), 132223104000000000ULL);
    EXPECT_EQ(b.u64(8 + 24), 132000000000000000ULL);
    ASSERT_EQ(call(smb2::handle_write, write_body(id, 0, "changed")).status, status::success);
    auto after = call(smb2::handle_query_info, query_info_body(1, 4, id));
    EXPECT_NE(after.u64(8 + 24), 132000000000000000ULL);
    EXPECT_EQ(after.u64(8), 132223104000000000ULL); // creation time stays
}

TEST_F(info_commands, end_of_file_allocation_position_mode) {
    share.write("f", "0123456789");
    file_id id = open("f", rw, 1);
    byte_writer eof;
    eof.u64(4);
    ASSERT_EQ(call(smb2::handle_set_info, set_info_body(1, 20, id, eof.take())).status,
              status::success);
    EXPECT_EQ(fs::file_size(share.path("f")), 4u);
    byte_writer grow;
    grow.u64(1 << 20);
    ASSERT_EQ(call(smb2::handle_set_info, set_info_body(1, 20, id, grow.take())).status,
              status::success);
    EXPECT_EQ(fs::file_size(share.path("f")), 1u << 20);
    byte_writer alloc;
    alloc.u64(100);
    ASSERT_EQ(call(smb2::handle_set_info, set_info_body(1, 19, id, alloc.take())).status,
              status::success);
    EXPECT_EQ(fs::file_size(share.path("f")), 100u); // below EOF: truncates
    byte_writer pos;
    pos.u64(42);
    ASSERT_EQ(call(smb2::handle_set_info, set_info_body(1, 14, id, pos.take())).status,
              status::success);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 14, id)).u64(8), 42u);
    byte_writer mode;
    mode.u32(0x2); // FILE_WRITE_THROUGH
    ASSERT_EQ(call(smb2::handle_set_info, set_info_body(1, 16, id, mode.take())).status,
              status::success);
    EXPECT_EQ(call(smb2::handle_query_info, query_info_body(1, 16, id)).u32(8), 0x2u);
    byte_writer badmode;
    badmode.u32(0x1000);
    EXPECT_EQ(call(smb2::handle_set_info, set_info_body(1, 16, id, badmode.take())).status,
              status::invalid_parameter);
    file_id ro = open("f", file_generic_read, 1);
    byte_writer e2;
    e2.u64(0);
    EXPECT_EQ(call(smb2::handle_set_info, set_info_body(1, 20, ro, e2.take())).status,
              status::access_denied);
    EXPECT_EQ(call(smb2::handle_set_info, set_info_body(1, 5, id, bytes(24))).status,
              status::invalid_info_class);
}

TEST_F(info_commands, security_set_is_accepted_when_allowed) {
    share.write("f", "x");
    bytes null_dacl(20); // SELF_RELATIVE | DACL_PRESENT, no DACL: a NULL DACL
    null_dacl[0] = 1;
    null_dacl[2] = 0x04;
    null_dacl[3] = 0x80;
    file_id all = open("f", maximum_allowed, 1);
    EXPECT_EQ(call(smb2::handle_set_info, set_info_body(3, 0, all, null_dacl, 0x4)).status,
              status::success);
    file_id ro = open("f", file_generic_read, 1);
    EXPECT_EQ(call(smb2::handle_set_info, set_info_body(3, 0, ro, null_dacl, 0x4)).status,
              status::access_denied);
}

} // namespace
} // namespace smbx::vfs
