// zero_file_range and punch_file_hole on the two kinds of file system the shares sit on
// here: a disk one (ext4 /tmp: ZERO_RANGE and PUNCH_HOLE) and tmpfs (/dev/shm: PUNCH_HOLE
// only, so a non-sparse file's zeroes are a punched hole allocated again).
#include "dataplane/vfs/sparse_file.hh"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "common/ntstatus.hh"

namespace smbx::vfs {
namespace {

constexpr size_t mib = 1 << 20;

struct temp_file {
    std::string path;
    int fd = -1;
    explicit temp_file(const char* dir) {
        path = std::string(dir) + "/smbx-sparse-XXXXXX";
        fd = ::mkstemp(path.data());
        std::string data(3 * mib, 'x');
        if (fd >= 0 && ::pwrite(fd, data.data(), data.size(), 0) != ssize_t(data.size())) {
            ::close(fd);
            fd = -1;
        }
        if (fd >= 0) {
            ::fsync(fd);
        }
    }
    ~temp_file() {
        if (fd >= 0) {
            ::close(fd);
            ::unlink(path.c_str());
        }
    }
    std::string read(size_t at, size_t n) const {
        std::string out(n, '?');
        return ::pread(fd, out.data(), n, off_t(at)) == ssize_t(n) ? out : std::string();
    }
    uint64_t allocated() const {
        struct stat st {};
        ::fstat(fd, &st);
        return uint64_t(st.st_blocks) * 512;
    }
    off_t size() const {
        struct stat st {};
        ::fstat(fd, &st);
        return st.st_size;
    }
};

class sparse_file : public ::testing::TestWithParam<const char*> {};

TEST_P(sparse_file, zeroing_a_sparse_file_deallocates_the_range) {
    temp_file f(GetParam());
    ASSERT_GE(f.fd, 0);
    ASSERT_EQ(zero_file_range(f.fd, true, mib, mib), status::success);
    EXPECT_EQ(f.read(mib, mib), std::string(mib, '\0'));
    EXPECT_EQ(f.read(0, 10), std::string(10, 'x'));
    EXPECT_EQ(f.read(2 * mib, 10), std::string(10, 'x'));
    EXPECT_EQ(f.size(), off_t(3 * mib)) << "the size does not change";
    EXPECT_LE(f.allocated(), 2 * mib + 65536);
    EXPECT_NE(::lseek(f.fd, mib, SEEK_DATA), off_t(mib)) << "a hole at 1 MiB";
}

TEST_P(sparse_file, zeroing_another_file_keeps_it_allocated) {
    temp_file f(GetParam());
    ASSERT_GE(f.fd, 0);
    ASSERT_EQ(zero_file_range(f.fd, false, mib, mib), status::success);
    EXPECT_EQ(f.read(mib, mib), std::string(mib, '\0'));
    EXPECT_EQ(f.size(), off_t(3 * mib));
    EXPECT_GE(f.allocated(), 3 * mib) << "ZERO_RANGE, or a hole allocated again";
}

TEST_P(sparse_file, punching_deallocates_and_reads_zeroes) {
    temp_file f(GetParam());
    ASSERT_GE(f.fd, 0);
    ASSERT_EQ(punch_file_hole(f.fd, 0, 2 * mib), status::success);
    EXPECT_EQ(f.read(0, 2 * mib), std::string(2 * mib, '\0'));
    EXPECT_EQ(f.read(2 * mib, 4), "xxxx");
    EXPECT_LE(f.allocated(), mib + 65536);
    EXPECT_EQ(punch_file_hole(f.fd, 0, 0), status::success) << "an empty range";
}

INSTANTIATE_TEST_SUITE_P(disk_and_tmpfs, sparse_file, ::testing::Values("/tmp", "/dev/shm"));

} // namespace
} // namespace smbx::vfs
