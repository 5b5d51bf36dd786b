#include "control/admin_socket.hh"

#include <cstring>
#include <filesystem>
#include <optional>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace smbx;
using namespace std::chrono_literals;

namespace {

class admin_socket_test : public ::testing::Test {
protected:
    void SetUp() override {
        _dir = std::filesystem::temp_directory_path() / ("smbx-admin-" + std::to_string(getpid()));
        std::filesystem::create_directories(_dir);
        _path = (_dir / "smbx-admin.sock").string();
    }
    void TearDown() override { std::filesystem::remove_all(_dir); }

    std::filesystem::path _dir;
    std::string _path;
};

// Serve `n` requests on a thread, answering "you said: <command>".
std::thread serve(admin_socket& s, int n) {
    return std::thread([&s, n] {
        for (int i = 0; i < n; ++i) {
            pollfd p{s.fd(), POLLIN, 0};
            if (poll(&p, 1, 3000) <= 0) {
                return;
            }
            s.serve_one(
                [](std::string_view cmd) { return "you said: " + std::string(cmd) + "\n"; });
        }
    });
}

} // namespace

TEST_F(admin_socket_test, request_and_answer) {
    auto r = open_admin_socket(_path);
    ASSERT_TRUE(r.socket) << r.error;
    struct stat st {};
    ASSERT_EQ(stat(_path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);

    auto t = serve(*r.socket, 2);
    auto a = admin_request(_path, "status", 2000ms);
    EXPECT_TRUE(a.ok) << a.text;
    EXPECT_EQ(a.text, "you said: status\n");
    a = admin_request(_path, "other", 2000ms);
    EXPECT_EQ(a.text, "you said: other\n");
    t.join();
    close(r.socket->fd());
}

TEST_F(admin_socket_test, second_instance_refused_while_first_lives) {
    auto first = open_admin_socket(_path);
    ASSERT_TRUE(first.socket);
    auto second = open_admin_socket(_path);
    EXPECT_FALSE(second.socket);
    EXPECT_NE(second.error.find("already running"), std::string::npos);
    close(first.socket->fd());
}

TEST_F(admin_socket_test, stale_socket_file_is_replaced) {
    auto first = open_admin_socket(_path);
    ASSERT_TRUE(first.socket);
    close(first.socket->fd()); // the process "died": the file stays
    ASSERT_TRUE(std::filesystem::exists(_path));
    auto second = open_admin_socket(_path);
    ASSERT_TRUE(second.socket) << second.error;
    close(second.socket->fd());
}

TEST_F(admin_socket_test, client_errors) {
    auto a = admin_request(_path, "status", 500ms);
    EXPECT_FALSE(a.ok);
    EXPECT_NE(a.text.find("smbx-control running"), std::string::npos);
    // A server that never answers: the client gives up at its deadline.
    auto r = open_admin_socket(_path);
    ASSERT_TRUE(r.socket);
    auto t0 = std::chrono::steady_clock::now();
    a = admin_request(_path, "status", 200ms);
    EXPECT_FALSE(a.ok);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    close(r.socket->fd());
}

TEST_F(admin_socket_test, silent_client_does_not_hang_server) {
    auto r = open_admin_socket(_path);
    ASSERT_TRUE(r.socket);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strcpy(a.sun_path, _path.c_str());
    ASSERT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    auto t0 = std::chrono::steady_clock::now();
    bool called = false;
    r.socket->serve_one([&](std::string_view) {
        called = true;
        return std::string();
    });
    EXPECT_FALSE(called);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms);
    close(c);
    close(r.socket->fd());
}

// The command line is limited to 256 bytes however it arrives; a longer one sent in a
// single write was taken whole (found by config_fuzz).
TEST_F(admin_socket_test, command_line_limit_holds_for_one_write) {
    auto r = open_admin_socket(_path);
    ASSERT_TRUE(r.socket);
    auto send_line = [&](const std::string& line) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strcpy(a.sun_path, _path.c_str());
        EXPECT_EQ(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(write(c, line.data(), line.size()), ssize_t(line.size()));
        std::optional<std::string> seen;
        r.socket->serve_one([&](std::string_view cmd) {
            seen = std::string(cmd);
            return std::string("ok\n");
        });
        close(c);
        return seen;
    };
    EXPECT_EQ(send_line(std::string(255, 'a') + "\n"), std::string(255, 'a'));
    EXPECT_FALSE(send_line(std::string(256, 'a') + "\n"));
    EXPECT_FALSE(send_line(std::string(1000, 'a') + "\nstatus\n"));
    close(r.socket->fd());
}

TEST(admin_status, format_table) {
    ipc::status_reply s;
    s.sessions.push_back({0x100000001, "alice", "127.0.0.1:50000", 0x0311, true, false});
    s.sessions.push_back({2, "", "10.0.0.9:1234", 0x0202, false, true});
    s.opens.push_back({0x100000001, "share", "dir/file.txt", "batch"});
    s.opens.push_back({2, "share", "b.txt", ""});
    auto text = format_status(s);
    EXPECT_NE(text.find("sessions: 2\n"), std::string::npos);
    EXPECT_NE(text.find("open files: 2\n"), std::string::npos);
    EXPECT_NE(text.find("CACHING"), std::string::npos);
    EXPECT_NE(text.find("dir/file.txt  batch"), std::string::npos);
    EXPECT_NE(text.find("b.txt         -"), std::string::npos) << "nothing cached: a dash";
    EXPECT_NE(text.find("0x0000000100000001"), std::string::npos);
    EXPECT_NE(text.find("alice"), std::string::npos);
    EXPECT_NE(text.find("(anonymous)"), std::string::npos);
    EXPECT_NE(text.find("3.1.1"), std::string::npos);
    EXPECT_NE(text.find("2.0.2"), std::string::npos);
    EXPECT_NE(text.find("dir/file.txt"), std::string::npos);
    // Columns line up: USER starts at the same offset in the header and the rows.
    auto header = text.find("SESSION");
    auto header_line = text.substr(header - 2, text.find('\n', header) - header + 2);
    auto row = text.substr(text.find("  0x0000000100000001"));
    EXPECT_EQ(header_line.find("USER"), row.find("alice"));
    EXPECT_EQ(format_status({}), "sessions: 0\nopen files: 0\n");
}
