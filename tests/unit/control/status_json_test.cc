// format_status_json / json_string: the keys README documents, and strings that stay
// valid JSON whatever bytes a client put into a file name.
#include "control/status_json.hh"

#include <gtest/gtest.h>

namespace smbx {
namespace {

TEST(status_json, escapes_and_replaces_bytes_that_are_not_utf8) {
    EXPECT_EQ(json_string("plain"), "\"plain\"");
    EXPECT_EQ(json_string("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\u000a\\u0001\"");
    EXPECT_EQ(json_string("d\xC3\xA9j\xC3\xA0"), "\"d\xC3\xA9j\xC3\xA0\""); // UTF-8 kept
    EXPECT_EQ(json_string("\xF0\x9F\x98\x80"), "\"\xF0\x9F\x98\x80\"");     // 4 bytes kept
    EXPECT_EQ(json_string("a\xFF"
                          "b"),
              "\"a\\ufffdb\"");                                          // stray byte
    EXPECT_EQ(json_string("\xC3"), "\"\\ufffd\"");                       // cut sequence
    EXPECT_EQ(json_string("\xED\xA0\x80"), "\"\\ufffd\\ufffd\\ufffd\""); // a surrogate
    EXPECT_EQ(json_string("\xC0\xAF"), "\"\\ufffd\\ufffd\"");            // overlong
}

TEST(status_json, documented_keys_in_order) {
    ipc::status_reply s;
    s.sessions.push_back({0x100000001, "alice", "127.0.0.1:50000", 0x0311, true, false});
    s.opens.push_back({0x100000001, "share", "dir\\file.txt", "lease RWH"});
    s.counters.emplace_back("pool_gets", 42);
    EXPECT_EQ(format_status_json(s, 1234),
              "{\"dataplane_pid\": 1234,\n"
              " \"sessions\": [\n"
              "  {\"session_id\": \"0x0000000100000001\", \"user\": \"alice\", \"client\": "
              "\"127.0.0.1:50000\", \"dialect\": \"3.1.1\", \"signing\": true, \"encryption\": "
              "false}],\n"
              " \"open_files\": [\n"
              "  {\"session_id\": \"0x0000000100000001\", \"share\": \"share\", \"path\": "
              "\"dir\\\\file.txt\", \"caching\": \"lease RWH\"}],\n"
              " \"data_path\": {\n"
              "  \"pool_gets\": 42}}\n");
    EXPECT_EQ(format_status_json({}, 1),
              "{\"dataplane_pid\": 1,\n \"sessions\": [],\n \"open_files\": [],\n"
              " \"data_path\": {}}\n");
}

} // namespace
} // namespace smbx
