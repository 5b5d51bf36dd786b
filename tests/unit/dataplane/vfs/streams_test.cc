#include "dataplane/vfs/streams.hh"

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

TEST(streams, storage) {
    testing::temp_share share;
    share.write("f", "base");
    unique_fd fd(::open(share.path("f").c_str(), O_RDONLY));
    ASSERT_TRUE(fd);
    ASSERT_EQ(create_stream(fd.get(), "Stream One"), status::success);
    EXPECT_EQ(create_stream(fd.get(), "Stream One"), status::object_name_collision);
    EXPECT_EQ(find_stream(fd.get(), "STREAM ONE").value_or(""), "Stream One");
    EXPECT_FALSE(find_stream(fd.get(), "other"));
    std::string data = "test data";
    ASSERT_EQ(write_stream(fd.get(), "Stream One", 2,
                           byte_span(reinterpret_cast<const uint8_t*>(data.data()), data.size())),
              status::success);
    EXPECT_EQ(stream_size(fd.get(), "Stream One").value_or(0), 11u);
    bytes out;
    ASSERT_EQ(read_stream(fd.get(), "Stream One", 0, 100, out), status::success);
    EXPECT_EQ(std::string(out.begin(), out.end()), std::string("\0\0test data", 11));
    ASSERT_EQ(read_stream(fd.get(), "Stream One", 50, 10, out), status::success);
    EXPECT_TRUE(out.empty());
    ASSERT_EQ(truncate_stream(fd.get(), "Stream One", 4), status::success);
    EXPECT_EQ(stream_size(fd.get(), "Stream One").value_or(0), 4u);
    EXPECT_EQ(write_stream(fd.get(), "Stream One", max_stream_size, byte_span(out.data(), 0)),
              status::success);
    bytes one(1);
    EXPECT_EQ(write_stream(fd.get(), "Stream One", max_stream_size, one), status::disk_full);
    ASSERT_EQ(create_stream(fd.get(), "b"), status::success);
    auto list = list_streams(fd.get());
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].name, "Stream One");
    EXPECT_EQ((*list)[1].name, "b");
    remove_streams(fd.get());
    EXPECT_TRUE(list_streams(fd.get())->empty());
    EXPECT_EQ(read_stream(fd.get(), "b", 0, 1, out), status::object_name_not_found);
}

class stream_commands : public testing::smb2_fixture {
protected:
    // Names of a FileStreamInformation reply.
    std::vector<std::string> stream_names(file_id id) {
        auto r = call(smb2::handle_query_info,
                      query_info_body(1, smb2::fscc::file_stream_information, id));
        EXPECT_EQ(r.status, status::success);
        std::vector<std::string> out;
        size_t pos = 8;
        while (pos + 24 <= r.body.size()) {
            uint32_t next = r.u32(pos);
            uint32_t len = r.u32(pos + 4);
            std::string n;
            utf16le_to_utf8(byte_span(r.body).subspan(pos + 24, len), n);
            out.push_back(n);
            if (!next) {
                break;
            }
            pos += next;
        }
        return out;
    }
    std::string read_all(file_id id) {
        auto r = call(smb2::handle_read, read_body(id, 0, 100));
        EXPECT_EQ(r.status, status::success);
        return r.body.size() > 16 ? std::string(r.body.begin() + 16, r.body.end()) : "";
    }
};

TEST_F(stream_commands, create_write_read_list_delete) {
    // Creating a stream of a missing file creates the file.
    file_id s = open("f.txt:Stream One", file_all_access, file_create, 0, 0);
    EXPECT_TRUE(std::filesystem::exists(share.path("f.txt")));
    ASSERT_EQ(call(smb2::handle_write, write_body(s, 0, "test data")).status, status::success);
    EXPECT_EQ(std::filesystem::file_size(share.path("f.txt")), 0u); // the file is untouched
    // The same stream conflicts by share mode; another stream and the file do not.
    EXPECT_EQ(call(smb2::handle_create,
                   create_body("f.txt:stream one:$DATA", file_read_data, file_open_disposition))
                  .status,
              status::sharing_violation);
    file_id f = open("f.txt", file_all_access, file_open_disposition);
    file_id s2 = open("f.txt:Second:$DaTa", file_all_access, file_open_if, 0, 7);
    EXPECT_EQ((stream_names(f)),
              (std::vector<std::string>{"::$DATA", ":Second:$DATA", ":Stream One:$DATA"}));
    // Stream opens report the stream's size and the stream's name.
    auto info =
        call(smb2::handle_query_info, query_info_body(1, smb2::fscc::file_standard_information, s));
    EXPECT_EQ(info.u64(8 + 8), 9u); // EndOfFile
    auto name =
        call(smb2::handle_query_info, query_info_body(1, smb2::fscc::file_name_information, s));
    std::string n;
    utf16le_to_utf8(byte_span(name.body).subspan(12, name.u32(8)), n);
    EXPECT_EQ(n, "\\f.txt:Stream One");
    call(smb2::handle_close, close_body(s));
    EXPECT_EQ(read_all(open("f.txt:STREAM ONE", file_read_data, file_open_disposition)),
              "test data");

    // Delete on close removes the stream only.
    auto r = call(smb2::handle_create, create_body("f.txt:Second", file_all_access,
                                                   file_open_disposition, file_delete_on_close, 7));
    ASSERT_EQ(r.status, status::success);
    call(smb2::handle_close, close_body(s2));
    call(smb2::handle_close, close_body(id_of(r)));
    EXPECT_EQ((stream_names(f)), (std::vector<std::string>{"::$DATA", ":Stream One:$DATA"}));
    EXPECT_EQ(call(smb2::handle_create,
                   create_body("f.txt:Second", file_read_data, file_open_disposition))
                  .status,
              status::object_name_not_found);
}

TEST_F(stream_commands, names_and_directories) {
    open("d", file_all_access, file_create, file_directory_file);
    EXPECT_EQ(call(smb2::handle_create,
                   create_body("d:s", file_write_data, file_create, file_directory_file))
                  .status,
              status::not_a_directory);
    EXPECT_EQ(call(smb2::handle_create, create_body("d::$DATA", file_write_data,
                                                    file_open_disposition, file_directory_file))
                  .status,
              status::not_a_directory);
    EXPECT_EQ(
        call(smb2::handle_create, create_body("d::$DATA", file_write_data, file_open_disposition))
            .status,
        status::file_is_a_directory);
    file_id d = open("d", file_read_data, file_open_disposition, file_directory_file);
    EXPECT_TRUE(stream_names(d).empty()); // a directory has no unnamed data stream
    open("d:s", file_all_access, file_create);
    EXPECT_EQ(stream_names(d), std::vector<std::string>{":s:$DATA"});
    for (auto bad : {"d:s:$FOO", "d:s:", "d:", "d\\x*:s"}) {
        EXPECT_EQ(call(smb2::handle_create, create_body(bad, file_read_data, file_open_if)).status,
                  status::object_name_invalid)
            << bad;
    }
    EXPECT_EQ(call(smb2::handle_create, create_body("d:?s*", file_read_data, file_open_disposition))
                  .status,
              status::object_name_not_found);
}

TEST_F(stream_commands, overwrite_drops_streams_and_truncate) {
    file_id s = open("f:s", file_all_access, file_create);
    ASSERT_EQ(call(smb2::handle_write, write_body(s, 0, "12345")).status, status::success);
    byte_writer eof;
    eof.u64(2);
    ASSERT_EQ(call(smb2::handle_set_info,
                   set_info_body(1, smb2::fscc::file_end_of_file_information, s, eof.take()))
                  .status,
              status::success);
    EXPECT_EQ(read_all(s), "12");
    call(smb2::handle_close, close_body(s));
    file_id f = open("f", file_all_access, file_overwrite);
    EXPECT_EQ(stream_names(f), std::vector<std::string>{"::$DATA"});
}

TEST_F(stream_commands, rename_stream) {
    call(smb2::handle_close, close_body(open("f:a", file_all_access, file_create)));
    file_id b = open("f:b", file_all_access, file_create);
    ASSERT_EQ(call(smb2::handle_write, write_body(b, 0, "bee")).status, status::success);
    auto rename = [&](std::string_view target, bool replace) {
        bytes t = utf16le(target);
        byte_writer w;
        w.u8(replace);
        w.zeros(7);
        w.u64(0);
        w.u32(uint32_t(t.size()));
        w.put(t);
        return call(smb2::handle_set_info,
                    set_info_body(1, smb2::fscc::file_rename_information, b, w.take()))
            .status;
    };
    EXPECT_EQ(rename(":a", false), status::object_name_collision);
    EXPECT_EQ(rename(":a:$DATA", true), status::success); // "a" is empty: replaced
    EXPECT_EQ(read_all(b), "bee");
    file_id f = open("f", file_read_data, file_open_disposition);
    EXPECT_EQ(stream_names(f), (std::vector<std::string>{"::$DATA", ":a:$DATA"}));
    EXPECT_EQ(rename("::$DATA", false), status::success); // into the empty data stream
    EXPECT_EQ(read_all(f), "bee");
    EXPECT_EQ(stream_names(f), std::vector<std::string>{"::$DATA"});
}

} // namespace
} // namespace smbx::vfs
