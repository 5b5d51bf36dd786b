#include "control/user_db.hh"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "control/auth/nt_hash.hh"

using smbx::user_db;
using smbx::auth::compute_nt_hash;

namespace {

class user_db_test : public ::testing::Test {
protected:
    void SetUp() override {
        _root = std::filesystem::temp_directory_path() /
                ("smbx-userdb-" + std::to_string(getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::remove_all(_root);
        _dir = (_root / "a" / "private").string();
    }
    void TearDown() override { std::filesystem::remove_all(_root); }

    std::string read_file() const {
        std::ifstream in(_dir + "/smbx-users");
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }
    void write_file(const std::string& text) const {
        std::filesystem::create_directories(_dir);
        std::ofstream(_dir + "/smbx-users") << text;
    }

    std::filesystem::path _root;
    std::string _dir;
};

mode_t mode_of(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
}

} // namespace

TEST_F(user_db_test, missing_file_is_empty) {
    user_db db(_dir);
    EXPECT_FALSE(db.load());
    EXPECT_EQ(db.size(), 0u);
    EXPECT_FALSE(db.lookup("alice"));
}

TEST_F(user_db_test, add_creates_dir_0700_and_file_0600) {
    user_db db(_dir);
    ASSERT_FALSE(db.add("alice", compute_nt_hash("Password")));
    EXPECT_EQ(mode_of(_dir), 0700u);
    EXPECT_EQ(mode_of(db.file_path()), 0600u);
    EXPECT_EQ(read_file(), "alice:a4f49c406510bdcab6824ee7c30fd852\n");
    // No temp or stray files are left behind besides the lock.
    for (const auto& e : std::filesystem::directory_iterator(_dir)) {
        auto name = e.path().filename().string();
        EXPECT_TRUE(name == "smbx-users" || name == "smbx-users.lock") << name;
    }
}

TEST_F(user_db_test, mode_is_0600_even_with_permissive_umask) {
    mode_t old = umask(0);
    user_db db(_dir);
    auto e = db.add("bob", compute_nt_hash("x"));
    umask(old);
    ASSERT_FALSE(e);
    EXPECT_EQ(mode_of(db.file_path()), 0600u);
}

TEST_F(user_db_test, lookup_is_case_insensitive_and_keeps_spelling) {
    user_db db(_dir);
    ASSERT_FALSE(db.add("Alice", compute_nt_hash("pw1")));
    auto h = db.lookup("ALICE");
    ASSERT_TRUE(h);
    EXPECT_EQ(*h, compute_nt_hash("pw1"));
    EXPECT_TRUE(db.lookup("alice"));
    EXPECT_EQ(db.names(), std::vector<std::string>{"Alice"});
    // A second add differing only in case is a duplicate.
    EXPECT_TRUE(db.add("aLiCe", compute_nt_hash("pw2")));
}

TEST_F(user_db_test, add_del_passwd_list_persist) {
    {
        user_db db(_dir);
        ASSERT_FALSE(db.add("carol", compute_nt_hash("c")));
        ASSERT_FALSE(db.add("alice", compute_nt_hash("a")));
        ASSERT_FALSE(db.add("bob", compute_nt_hash("b")));
        ASSERT_FALSE(db.set_hash("bob", compute_nt_hash("b2")));
        ASSERT_FALSE(db.remove("carol"));
    }
    user_db db(_dir);
    ASSERT_FALSE(db.load());
    EXPECT_EQ(db.names(), (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(db.lookup("bob"), compute_nt_hash("b2"));
    EXPECT_EQ(db.lookup("alice"), compute_nt_hash("a"));
    EXPECT_FALSE(db.lookup("carol"));
}

TEST_F(user_db_test, errors_for_missing_users_and_bad_names) {
    user_db db(_dir);
    EXPECT_TRUE(db.remove("nobody"));
    EXPECT_TRUE(db.set_hash("nobody", compute_nt_hash("x")));
    EXPECT_TRUE(db.add("", compute_nt_hash("x")));
    EXPECT_TRUE(db.add("a:b", compute_nt_hash("x")));
    EXPECT_TRUE(db.add("line\nbreak", compute_nt_hash("x")));
    EXPECT_TRUE(db.add(std::string(65, 'x'), compute_nt_hash("x")));
    EXPECT_TRUE(user_db::valid_name("John Smith"));
    EXPECT_FALSE(user_db::valid_name(" john"));
    EXPECT_FALSE(user_db::valid_name("dom\\john"));
    EXPECT_TRUE(user_db::valid_name("john.smith-2"));
}

TEST_F(user_db_test, rewrite_is_atomic_new_inode) {
    user_db db(_dir);
    ASSERT_FALSE(db.add("alice", compute_nt_hash("a")));
    struct stat before {};
    ASSERT_EQ(stat(db.file_path().c_str(), &before), 0);
    // A reader holding the old file keeps seeing complete old contents.
    std::ifstream old_reader(db.file_path());
    ASSERT_FALSE(db.add("bob", compute_nt_hash("b")));
    struct stat after {};
    ASSERT_EQ(stat(db.file_path().c_str(), &after), 0);
    EXPECT_NE(before.st_ino, after.st_ino); // replaced by rename, not rewritten in place
    std::stringstream s;
    s << old_reader.rdbuf();
    EXPECT_EQ(s.str().rfind("alice:", 0), 0u);
    EXPECT_EQ(s.str().size(), 6u + 32u + 1u);
    EXPECT_EQ(s.str().find("bob"), std::string::npos);
    EXPECT_NE(read_file().find("bob:"), std::string::npos);
}

TEST_F(user_db_test, refresh_picks_up_changes_by_another_instance) {
    user_db server(_dir);
    ASSERT_FALSE(server.load());
    EXPECT_FALSE(server.lookup("dave"));
    user_db admin(_dir);
    ASSERT_FALSE(admin.add("dave", compute_nt_hash("d")));
    ASSERT_FALSE(server.refresh());
    EXPECT_EQ(server.lookup("dave"), compute_nt_hash("d"));
    ASSERT_FALSE(admin.remove("dave"));
    ASSERT_FALSE(server.refresh());
    EXPECT_FALSE(server.lookup("dave"));
}

TEST_F(user_db_test, concurrent_instances_do_not_lose_updates) {
    user_db a(_dir);
    user_db b(_dir);
    ASSERT_FALSE(a.load());
    ASSERT_FALSE(b.load());
    ASSERT_FALSE(a.add("one", compute_nt_hash("1")));
    ASSERT_FALSE(b.add("two", compute_nt_hash("2"))); // b re-reads under the lock
    user_db check(_dir);
    ASSERT_FALSE(check.load());
    EXPECT_EQ(check.names(), (std::vector<std::string>{"one", "two"}));
}

TEST_F(user_db_test, malformed_file_is_error_and_keeps_old_contents) {
    write_file("alice:a4f49c406510bdcab6824ee7c30fd852\n");
    user_db db(_dir);
    ASSERT_FALSE(db.load());
    write_file("alice:a4f49c406510bdcab6824ee7c30fd852\nbob:nothex\n");
    auto e = db.refresh();
    ASSERT_TRUE(e);
    EXPECT_NE(e->find(":2:"), std::string::npos);
    EXPECT_EQ(e->find("nothex"), std::string::npos); // hashes never appear in messages
    EXPECT_TRUE(db.lookup("alice"));

    write_file("nocolon\n");
    EXPECT_TRUE(db.load());
    write_file("a:a4f49c406510bdcab6824ee7c30fd852\nA:a4f49c406510bdcab6824ee7c30fd852\n");
    EXPECT_TRUE(db.load()); // duplicate, case-insensitively
}

TEST_F(user_db_test, reads_uppercase_hex_and_blank_lines) {
    write_file("\nalice:A4F49C406510BDCAB6824EE7C30FD852\n\n");
    user_db db(_dir);
    ASSERT_FALSE(db.load());
    EXPECT_EQ(db.lookup("alice"), compute_nt_hash("Password"));
}
