// copy_file_data: in-kernel copies between files and within one, memmove semantics for
// overlapping ranges, and a short copy at the source's end.
#include "dataplane/vfs/file_copy.hh"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "test_share.hh"

namespace smbx::vfs {
namespace {

using smbx::vfs::testing::temp_share;

std::string pattern(size_t n, int seed) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; ++i) {
        s[i] = char((i * 31 + size_t(seed) + i / 4093) & 0xFF);
    }
    return s;
}

std::string read_all(int fd) {
    std::string out;
    char buf[65536];
    ssize_t n;
    off_t at = 0;
    while ((n = ::pread(fd, buf, sizeof buf, at)) > 0) {
        out.append(buf, size_t(n));
        at += n;
    }
    return out;
}

struct file_copy_test : ::testing::Test {
    temp_share share;
    int open_file(const std::string& name, const std::string& data) {
        share.write(name, data);
        return ::open(share.path(name).c_str(), O_RDWR | O_CLOEXEC);
    }
};

TEST_F(file_copy_test, copies_between_files_into_place) {
    std::string src = pattern(3 << 20, 1);
    std::string dst = pattern(1 << 20, 2);
    int s = open_file("s", src);
    int d = open_file("d", dst);
    auto r = copy_file_data(s, 4096, d, 100, 2 << 20);
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(r.copied, 2u << 20);
    std::string expected = dst;
    expected.resize(100 + (2 << 20));
    expected.replace(100, 2 << 20, src.substr(4096, 2 << 20));
    EXPECT_TRUE(read_all(d) == expected);
    ::close(s);
    ::close(d);
}

TEST_F(file_copy_test, stops_short_at_the_source_end) {
    int s = open_file("s", pattern(5000, 3));
    int d = open_file("d", "");
    auto r = copy_file_data(s, 4000, d, 0, 4096);
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(r.copied, 1000u);
    ::close(s);
    ::close(d);
}

TEST_F(file_copy_test, overlapping_ranges_of_one_file_move_as_memmove) {
    for (int64_t shift : {1, 7, 4096, 70000, -1, -5000, -300000}) {
        std::string data = pattern(2 << 20, int(shift & 0xFF));
        int f = open_file("f", data);
        uint64_t from = 400000;
        uint64_t to = uint64_t(int64_t(from) + shift);
        uint64_t n = 1 << 20;
        auto r = copy_file_data(f, from, f, to, n);
        EXPECT_EQ(r.error, 0) << shift;
        EXPECT_EQ(r.copied, n) << shift;
        std::string expected = data;
        expected.replace(to, n, data.substr(from, n));
        EXPECT_TRUE(read_all(f) == expected) << "shift " << shift;
        ::close(f);
    }
}

TEST_F(file_copy_test, a_range_onto_itself_changes_nothing) {
    std::string data = pattern(10000, 4);
    int f = open_file("f", data);
    auto r = copy_file_data(f, 100, f, 100, 5000);
    EXPECT_EQ(r.copied, 5000u);
    EXPECT_TRUE(read_all(f) == data);
    ::close(f);
}

TEST_F(file_copy_test, an_unwritable_target_reports_its_errno) {
    int s = open_file("s", pattern(4096, 5));
    share.write("d", "");
    int d = ::open(share.path("d").c_str(), O_RDONLY | O_CLOEXEC);
    auto r = copy_file_data(s, 0, d, 0, 4096);
    EXPECT_EQ(r.copied, 0u);
    EXPECT_EQ(r.error, EBADF);
    ::close(s);
    ::close(d);
}

} // namespace
} // namespace smbx::vfs
