#include "dataplane/vfs/share_path.hh"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/ntstatus.hh"

namespace smbx::vfs {
namespace {

namespace fs = std::filesystem;

name_parse parse(std::string_view s, parse_options o = {}) {
    return parse_smb_name(utf16le(s), o);
}

TEST(share_path, empty_name_is_root) {
    auto r = parse("");
    EXPECT_EQ(r.status, status::success);
    EXPECT_TRUE(r.name.is_root());
}

TEST(share_path, splits_components) {
    auto r = parse("dir\\sub\\file.txt");
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.name.relative(), "dir/sub/file.txt");
    EXPECT_EQ(r.name.components.size(), 3u);
}

TEST(share_path, leading_separator) {
    EXPECT_EQ(parse("\\file").status, status::invalid_parameter);
    auto r = parse("\\dir\\file", {.allow_leading_separator = true});
    EXPECT_EQ(r.status, status::success);
    EXPECT_EQ(r.name.relative(), "dir/file");
}

TEST(share_path, trailing_separator_names_directory) {
    auto r = parse("dir\\");
    ASSERT_EQ(r.status, status::success);
    EXPECT_TRUE(r.name.trailing_separator);
    EXPECT_EQ(r.name.relative(), "dir");
    EXPECT_EQ(parse("dir\\\\").status, status::object_name_invalid);
    EXPECT_EQ(parse("a\\\\b").status, status::object_name_invalid);
}

TEST(share_path, illegal_characters) {
    for (const char* n : {"a<b", "a>b", "a\"b", "a|b", "a?b", "a*b", "a/b", "x\x01y", "x\x1fy"}) {
        EXPECT_EQ(parse(n).status, status::object_name_invalid) << n;
    }
    bytes nul = utf16le("ab");
    nul[2] = 0; // "a\0"
    nul[3] = 0;
    EXPECT_EQ(parse_smb_name(nul).status, status::object_name_invalid);
}

TEST(share_path, invalid_utf16) {
    bytes lone = {0x00, 0xD8}; // unpaired high surrogate
    EXPECT_EQ(parse_smb_name(lone).status, status::object_name_invalid);
    bytes odd = {0x41, 0x00, 0x42};
    EXPECT_EQ(parse_smb_name(odd).status, status::invalid_parameter);
}

TEST(share_path, streams) {
    auto r = parse("file.txt::$DATA");
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.name.relative(), "file.txt");
    EXPECT_TRUE(r.name.stream.empty());
    EXPECT_TRUE(r.name.data_suffix);
    r = parse("dir\\file.txt:Stream One");
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.name.relative(), "dir/file.txt");
    EXPECT_EQ(r.name.stream, "Stream One");
    EXPECT_FALSE(r.name.data_suffix);
    r = parse("file.txt:s:$dAtA");
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.name.stream, "s");
    EXPECT_EQ(parse("file.txt:s:$FOO").status, status::object_name_invalid);
    EXPECT_EQ(parse("file.txt:s:").status, status::object_name_invalid);
    EXPECT_EQ(parse("file.txt:").status, status::object_name_invalid);
    EXPECT_EQ(parse("file.txt::").status, status::object_name_invalid);
    EXPECT_EQ(parse(":s").status, status::object_name_invalid);
    EXPECT_EQ(parse("dir:x\\file").status, status::object_name_invalid);
}

TEST(share_path, dot_and_dotdot) {
    EXPECT_EQ(parse(".").status, status::object_name_invalid);
    EXPECT_EQ(parse("a\\.\\b").status, status::object_name_invalid);
    EXPECT_EQ(parse("..").status, status::object_path_syntax_bad);
    EXPECT_EQ(parse("..\\etc\\passwd").status, status::object_path_syntax_bad);
    EXPECT_EQ(parse("a\\..\\..\\etc").status, status::object_path_syntax_bad);
    auto r = parse("a\\..\\b");
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.name.relative(), "b");
    auto root = parse("a\\..");
    ASSERT_EQ(root.status, status::success);
    EXPECT_TRUE(root.name.is_root());
}

TEST(share_path, dos_device_names) {
    for (const char* n :
         {"CON", "con", "nul.txt", "dir\\PRN", "aux.c", "COM1", "lpt9.log", "CON .txt", "clock$"}) {
        EXPECT_EQ(parse(n).status, status::object_name_invalid) << n;
    }
    for (const char* n : {"CONSOLE", "COM0", "COM10", "nully", "xcon", "LPT"}) {
        EXPECT_EQ(parse(n).status, status::success) << n;
    }
}

TEST(share_path, long_component) {
    EXPECT_EQ(parse(std::string(255, 'a')).status, status::success);
    EXPECT_EQ(parse(std::string(256, 'a')).status, status::object_name_invalid);
}

class share_dir : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/smbx-share-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        base = tmpl;
        root = base / "share";
        fs::create_directories(root / "Dir" / "Sub");
        std::ofstream(root / "Dir" / "File.txt") << "hello";
        std::ofstream(root / "Dir" / "Exact") << "1";
        std::ofstream(root / "Dir" / "EXACT") << "2";
        std::ofstream(base / "secret") << "outside";
        fs::create_symlink("/etc", root / "etc_link");
        fs::create_symlink("../secret", root / "Dir" / "up_link");
        fs::create_symlink("Sub", root / "Dir" / "inner_link");
        root_fd = open_share_root(root.string());
        ASSERT_TRUE(root_fd.valid());
    }
    void TearDown() override { fs::remove_all(base); }

    resolved_path res(std::string_view s) {
        auto p = parse(s);
        EXPECT_EQ(p.status, status::success) << s;
        return resolve(root_fd.get(), p.name);
    }

    fs::path base;
    fs::path root;
    unique_fd root_fd;
};

TEST_F(share_dir, resolves_existing_and_missing) {
    auto r = res("Dir\\File.txt");
    ASSERT_EQ(r.status, status::success);
    EXPECT_TRUE(r.exists);
    EXPECT_EQ(r.leaf, "File.txt");
    EXPECT_EQ(r.relative, "Dir/File.txt");
    EXPECT_TRUE(S_ISREG(r.st.st_mode));

    auto m = res("Dir\\new.txt");
    ASSERT_EQ(m.status, status::success);
    EXPECT_FALSE(m.exists);
    EXPECT_EQ(m.leaf, "new.txt");

    EXPECT_EQ(res("Nope\\new.txt").status, status::object_path_not_found);
    EXPECT_EQ(res("Dir\\File.txt\\x").status, status::object_path_not_found);
}

TEST_F(share_dir, root) {
    auto r = res("");
    ASSERT_EQ(r.status, status::success);
    EXPECT_TRUE(r.exists);
    EXPECT_TRUE(S_ISDIR(r.st.st_mode));
    EXPECT_TRUE(r.leaf.empty());
}

TEST_F(share_dir, case_insensitive) {
    auto r = res("dir\\FILE.TXT");
    ASSERT_EQ(r.status, status::success);
    EXPECT_TRUE(r.exists);
    EXPECT_EQ(r.relative, "Dir/File.txt");
    // Two names differing in case: the exact one wins.
    EXPECT_EQ(res("DIR\\Exact").leaf, "Exact");
    EXPECT_EQ(res("DIR\\EXACT").leaf, "EXACT");
    // No exact match: a deterministic case variant.
    EXPECT_EQ(res("DIR\\exact").leaf, "EXACT");
}

TEST_F(share_dir, unicode_case_folding) {
    std::ofstream(root / "\xC3\x84rger.txt") << "x"; // "Ärger.txt"
    auto r = res("\xC3\xA4RGER.TXT");                // "äRGER.TXT"
    ASSERT_EQ(r.status, status::success);
    EXPECT_TRUE(r.exists);
    EXPECT_EQ(r.leaf, "\xC3\x84rger.txt");
}

TEST_F(share_dir, symlinks_refused) {
    EXPECT_EQ(res("etc_link").status, status::access_denied);
    EXPECT_EQ(res("etc_link\\passwd").status, status::access_denied);
    EXPECT_EQ(res("Dir\\up_link").status, status::access_denied);
    EXPECT_EQ(res("Dir\\inner_link").status, status::access_denied);
    EXPECT_EQ(res("Dir\\inner_link\\x").status, status::access_denied);
    EXPECT_EQ(res("ETC_LINK\\passwd").status, status::access_denied);
}

TEST_F(share_dir, open_beneath_cannot_escape) {
    EXPECT_LT(open_beneath(root_fd.get(), "../secret", O_RDONLY), 0);
    EXPECT_LT(open_beneath(root_fd.get(), "/etc/passwd", O_RDONLY), 0);
    EXPECT_LT(open_beneath(root_fd.get(), "etc_link/passwd", O_RDONLY), 0);
    int fd = open_beneath(root_fd.get(), "Dir/File.txt", O_RDONLY);
    EXPECT_GE(fd, 0);
    ::close(fd);
}

TEST_F(share_dir, dotdot_stays_inside) {
    auto r = res("Dir\\..\\Dir\\File.txt");
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.relative, "Dir/File.txt");
}

TEST(share_path, errno_mapping) {
    EXPECT_EQ(errno_to_status(ENOENT), status::object_name_not_found);
    EXPECT_EQ(errno_to_status(EEXIST), status::object_name_collision);
    EXPECT_EQ(errno_to_status(ENOTEMPTY), status::directory_not_empty);
    EXPECT_EQ(errno_to_status(ELOOP), status::access_denied);
}

} // namespace
} // namespace smbx::vfs
