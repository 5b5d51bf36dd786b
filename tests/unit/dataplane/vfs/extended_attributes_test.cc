#include "dataplane/vfs/extended_attributes.hh"

#include <fcntl.h>
#include <unistd.h>

#include "dataplane/smb2/fscc.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/create_file.hh"
#include "smb2_harness.hh"

namespace smbx::vfs {
namespace {

using smb2::file_id;
using testing::result;

bytes full_ea_list(const std::vector<std::pair<std::string, std::string>>& eas) {
    byte_writer w;
    size_t last = 0;
    for (size_t i = 0; i < eas.size(); ++i) {
        if (i) {
            w.align(4);
            w.patch_u32(last, uint32_t(w.size() - last));
        }
        last = w.size();
        ea_entry e;
        e.name = eas[i].first;
        e.value.assign(eas[i].second.begin(), eas[i].second.end());
        put_full_ea(w, e);
    }
    return w.take();
}

std::string value(const ea_entry& e) {
    return std::string(e.value.begin(), e.value.end());
}

TEST(extended_attributes, names) {
    EXPECT_TRUE(valid_ea_name("EAONE"));
    EXPECT_TRUE(valid_ea_name("a.b-c_d e"));
    EXPECT_FALSE(valid_ea_name(""));
    EXPECT_FALSE(valid_ea_name(std::string(256, 'a')));
    for (char c : std::string("\"*+,/:;<=>?[\\]|\x01")) {
        EXPECT_FALSE(valid_ea_name(std::string("a") + c)) << int(c);
    }
    EXPECT_EQ(upcase_ea_name("SecondEa"), "SECONDEA");
}

TEST(extended_attributes, parse_full_list) {
    auto p = parse_full_ea_list(full_ea_list({{"EAONE", "VALUE1"}, {"SecondEA", "ValueTwo"}}));
    ASSERT_EQ(p.status, status::success);
    ASSERT_EQ(p.eas.size(), 2u);
    EXPECT_EQ(p.eas[1].name, "SecondEA");
    EXPECT_EQ(value(p.eas[1]), "ValueTwo");

    auto bad = parse_full_ea_list(full_ea_list({{"ok", "1"}, {"bad:name", "2"}}));
    EXPECT_EQ(bad.status, status_invalid_ea_name);
    EXPECT_EQ(bad.error_offset, 12u);

    auto truncated = full_ea_list({{"EAONE", "VALUE1"}});
    truncated.pop_back();
    EXPECT_EQ(parse_full_ea_list(truncated).status, status_ea_list_inconsistent);
    auto misaligned = full_ea_list({{"A", "1"}, {"B", "2"}});
    misaligned[0] = 13; // NextEntryOffset not a multiple of 4
    EXPECT_EQ(parse_full_ea_list(misaligned).status, status_ea_list_inconsistent);
    EXPECT_EQ(parse_full_ea_list({}).status, status_ea_list_inconsistent);
}

TEST(extended_attributes, set_list_and_delete) {
    testing::temp_share share;
    share.write("f", "data");
    unique_fd fd(::open(share.path("f").c_str(), O_RDONLY));
    ASSERT_TRUE(fd);
    auto p = parse_full_ea_list(full_ea_list({{"second", "2"}, {"First", "one"}}));
    ASSERT_EQ(set_eas(fd.get(), p.eas), status::success);
    auto eas = list_eas(fd.get());
    ASSERT_TRUE(eas);
    ASSERT_EQ(eas->size(), 2u);
    EXPECT_EQ((*eas)[0].name, "FIRST"); // upper-cased, in name order
    EXPECT_EQ(value((*eas)[0]), "one");
    EXPECT_EQ(ea_list_size(*eas), 20u + 16u); // entries 17 and 16 bytes, 4-byte aligned
    // An empty value deletes; a name differing in case names the same EA.
    p = parse_full_ea_list(full_ea_list({{"FIRST", ""}, {"Second", "22"}}));
    ASSERT_EQ(set_eas(fd.get(), p.eas), status::success);
    unique_fd root(::open(share.root().c_str(), O_PATH | O_DIRECTORY));
    eas = list_eas_at(root.get(), "f");
    ASSERT_TRUE(eas);
    ASSERT_EQ(eas->size(), 1u);
    EXPECT_EQ(value((*eas)[0]), "22");
    // Values beyond MS-FSCC's 16-bit length cannot be stored.
    ea_entry big{0, "BIG", bytes(max_ea_value + 1, 'x')};
    EXPECT_EQ(set_eas(fd.get(), {big}), status::ea_too_large);
}

class ea_commands : public testing::smb2_fixture {
protected:
    static bytes query_ea_body(file_id id, uint32_t output_length, uint32_t flags,
                               const bytes& get_list = {}) {
        byte_writer w;
        w.u16(41);
        w.u8(1);
        w.u8(smb2::fscc::file_full_ea_information);
        w.u32(output_length);
        w.u16(get_list.empty() ? 0 : uint16_t(smb2::header_size + 40));
        w.u16(0);
        w.u32(uint32_t(get_list.size()));
        w.u32(0);
        w.u32(flags);
        put_id(w, id);
        w.put(get_list);
        if (get_list.empty()) {
            w.u8(0);
        }
        return w.take();
    }
    // The EAs of a FileFullEaInformation reply, in order.
    static std::vector<ea_entry> eas_of(const result& r) {
        std::vector<ea_entry> out;
        byte_reader b(r.body);
        b.skip(2);
        uint16_t offset = b.u16();
        uint32_t length = b.u32();
        auto data = byte_span(r.body).subspan(offset - smb2::header_size, length);
        auto p = parse_full_ea_list(data);
        EXPECT_EQ(p.status, status::success);
        return p.eas;
    }
};

TEST_F(ea_commands, create_query_and_set) {
    auto ext_a = context("ExtA", full_ea_list({{"EAONE", "VALUE1"}, {"SECONDEA", "ValueTwo"}}));
    auto r =
        call(smb2::handle_create, create_body("f", file_all_access, file_create, 0, 7, 0, ext_a));
    ASSERT_EQ(r.status, status::success);
    file_id f = id_of(r);

    // FileEaInformation: both entries, 4-byte aligned (20 + 28).
    auto q = call(smb2::handle_query_info, query_info_body(1, smb2::fscc::file_ea_information, f));
    ASSERT_EQ(q.status, status::success);
    EXPECT_EQ(q.u32(8), 48u);

    auto all = eas_of(call(smb2::handle_query_info, query_ea_body(f, 4096, 1)));
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0].name, "EAONE");
    EXPECT_EQ(value(all[1]), "ValueTwo");

    // Single-entry scan: one EA per call, then NO_MORE_EAS; RESTART_SCAN starts over.
    auto one = eas_of(call(smb2::handle_query_info, query_ea_body(f, 4096, 1 | 2)));
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].name, "EAONE");
    auto two = eas_of(call(smb2::handle_query_info, query_ea_body(f, 4096, 2)));
    ASSERT_EQ(two.size(), 1u);
    EXPECT_EQ(two[0].name, "SECONDEA");
    EXPECT_EQ(call(smb2::handle_query_info, query_ea_body(f, 4096, 2)).status, status_no_more_eas);

    // By name: present ones with their value, missing ones empty.
    byte_writer get;
    get.u32(16);
    get.u8(8);
    get.put("secondea", 9);
    get.align(4);
    get.u32(0);
    get.u8(4);
    get.put("NONE", 5);
    auto named = eas_of(call(smb2::handle_query_info, query_ea_body(f, 4096, 0, get.take())));
    ASSERT_EQ(named.size(), 2u);
    EXPECT_EQ(value(named[0]), "ValueTwo");
    EXPECT_TRUE(named[1].value.empty());

    // Too small for the first EA; room for one of two.
    EXPECT_EQ(call(smb2::handle_query_info, query_ea_body(f, 8, 1)).status,
              status::buffer_too_small);
    auto partial = call(smb2::handle_query_info, query_ea_body(f, 24, 1));
    EXPECT_EQ(partial.status, status::buffer_overflow);

    // SET_INFO: an empty value deletes; invalid names are refused.
    auto del = full_ea_list({{"eaone", ""}});
    EXPECT_EQ(
        call(smb2::handle_set_info, set_info_body(1, smb2::fscc::file_full_ea_information, f, del))
            .status,
        status::success);
    auto rest = eas_of(call(smb2::handle_query_info, query_ea_body(f, 4096, 1)));
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].name, "SECONDEA");
    auto bad = full_ea_list({{"a*b", "x"}});
    EXPECT_EQ(
        call(smb2::handle_set_info, set_info_body(1, smb2::fscc::file_full_ea_information, f, bad))
            .status,
        status_invalid_ea_name);

    // Without FILE_WRITE_EA / FILE_READ_EA.
    file_id ro = open("f", file_read_data, file_open_disposition);
    EXPECT_EQ(
        call(smb2::handle_set_info, set_info_body(1, smb2::fscc::file_full_ea_information, ro, del))
            .status,
        status::access_denied);
    EXPECT_EQ(call(smb2::handle_query_info, query_ea_body(ro, 4096, 1)).status,
              status::access_denied);
}

TEST_F(ea_commands, no_eas_and_directory_ea_size) {
    file_id d = open("d", file_all_access, file_create, file_directory_file);
    EXPECT_EQ(call(smb2::handle_query_info, query_ea_body(d, 4096, 1)).status,
              status_no_eas_on_file);
    auto ext_a = context("ExtA", full_ea_list({{"X", "12345"}}));
    ASSERT_EQ(
        call(smb2::handle_create, create_body("d\\f", file_all_access, file_create, 0, 7, 0, ext_a))
            .status,
        status::success);
    // FileFullDirectoryInformation carries EaSize at offset 64.
    auto r = call(smb2::handle_query_directory,
                  query_dir_body(d, smb2::fscc::file_full_directory_information, 0, "f"));
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.u32(8 + 64), 16u); // 8 + 1 + 1 + 5 = 15, aligned
}

} // namespace
} // namespace smbx::vfs
