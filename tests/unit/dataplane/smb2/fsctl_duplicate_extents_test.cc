// FSCTL_DUPLICATE_EXTENTS_TO_FILE: SMB2_DUPLICATE_EXTENTS_DATA parsing, the statuses of a
// file system that cannot clone, and the handler on a temporary share (which clones
// only where its file system does: the test asks the file system first).
#include "dataplane/smb2/fsctl_duplicate_extents.hh"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "fsctl_harness.hh"

namespace smbx::smb2 {
namespace {

using testing::fsctl_fixture;

bytes dup_input(file_id source, int64_t source_offset, int64_t target_offset, int64_t count) {
    byte_writer w;
    w.u64(source.persistent);
    w.u64(source.volatile_id);
    w.u64(uint64_t(source_offset));
    w.u64(uint64_t(target_offset));
    w.u64(uint64_t(count));
    return w.take();
}

TEST(duplicate_extents_parse, fields_and_refusals) {
    auto d = parse_duplicate_extents(dup_input({1, 2}, 4096, 8192, 65536));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->source.persistent, 1u);
    EXPECT_EQ(d->source.volatile_id, 2u);
    EXPECT_EQ(d->source_offset, 4096u);
    EXPECT_EQ(d->target_offset, 8192u);
    EXPECT_EQ(d->byte_count, 65536u);
    EXPECT_FALSE(parse_duplicate_extents(bytes(39, 0)));
    EXPECT_FALSE(parse_duplicate_extents(dup_input({1, 2}, -1, 0, 1)));
    EXPECT_FALSE(parse_duplicate_extents(dup_input({1, 2}, 0, 0, -1)));
    EXPECT_FALSE(parse_duplicate_extents(dup_input({1, 2}, INT64_MAX, 0, 1)));
}

TEST(duplicate_extents_parse, a_file_system_without_cloning_is_invalid_device_request) {
    EXPECT_EQ(clone_error_status(EOPNOTSUPP), status::invalid_device_request);
    EXPECT_EQ(clone_error_status(ENOTTY), status::invalid_device_request);
    EXPECT_EQ(clone_error_status(EINVAL), status::invalid_parameter);
    EXPECT_EQ(clone_error_status(EXDEV), status::invalid_parameter);
    EXPECT_EQ(clone_error_status(ENOSPC), status::disk_full);
}

class duplicate_extents : public fsctl_fixture {
protected:
    // Whether the share's file system clones (FICLONERANGE between two of its files).
    bool fs_clones() {
        share.write("probe-a", std::string(65536, 'p'));
        share.write("probe-b", "");
        int a = ::open(share.path("probe-a").c_str(), O_RDONLY | O_CLOEXEC);
        int b = ::open(share.path("probe-b").c_str(), O_WRONLY | O_CLOEXEC);
        struct file_clone_range arg {};
        arg.src_fd = a;
        arg.src_length = 65536;
        bool ok = ::ioctl(b, FICLONERANGE, &arg) == 0;
        ::close(a);
        ::close(b);
        return ok;
    }
};

TEST_F(duplicate_extents, clones_or_answers_invalid_device_request) {
    std::string data(128 * 1024, 'a');
    for (size_t i = 0; i < data.size(); ++i) {
        data[i] = char('a' + i % 23);
    }
    file_id src = file_with("src", data);
    file_id dst = open("dst", rw, 5);
    bool clones = fs_clones();
    auto r = ioctl(fsctl_duplicate_extents_to_file, dst, dup_input(src, 0, 0, 65536), 0);
    if (clones) {
        EXPECT_EQ(r.status, status::success);
        EXPECT_EQ(contents("dst"), data.substr(0, 65536));
    } else {
        EXPECT_EQ(r.status, status::invalid_device_request);
        EXPECT_EQ(contents("dst"), "");
    }
}

TEST_F(duplicate_extents, what_is_refused_before_the_file_system) {
    file_id src = file_with("src", std::string(65536, 's'));
    file_id dst = open("dst", rw, 5);
    EXPECT_EQ(
        ioctl(fsctl_duplicate_extents_to_file, dst, dup_input({99, 99}, 0, 0, 4096), 0).status,
        status::invalid_handle);
    EXPECT_EQ(ioctl(fsctl_duplicate_extents_to_file, dst, bytes(20, 0), 0).status,
              status::invalid_parameter);
    EXPECT_EQ(ioctl(fsctl_duplicate_extents_to_file, src, dup_input(src, 0, 4096, 8192), 0).status,
              status::not_supported)
        << "overlapping ranges of one file";
    EXPECT_EQ(ioctl(fsctl_duplicate_extents_to_file, dst, dup_input(src, 61440, 0, 8192), 0).status,
              status::not_supported)
        << "beyond the source's end";
    EXPECT_EQ(ioctl(fsctl_duplicate_extents_to_file, dst, dup_input(src, 0, 0, 0), 0).status,
              status::success)
        << "nothing to clone";
    file_id ro = open("dst", vfs::file_read_data, 1);
    EXPECT_EQ(ioctl(fsctl_duplicate_extents_to_file, ro, dup_input(src, 0, 0, 4096), 0).status,
              status::access_denied);
}

TEST_F(duplicate_extents, a_source_of_another_session_is_an_invalid_handle) {
    file_id src = file_with("src", std::string(65536, 's'));
    auto created = call_as_other_session(handle_create, create_body("dst", rw, 5));
    ASSERT_EQ(created.status, status::success);
    auto r = call_as_other_session(
        handle_ioctl,
        ioctl_body(fsctl_duplicate_extents_to_file, id_of(created), dup_input(src, 0, 0, 4096), 0));
    EXPECT_EQ(r.status, status::invalid_handle);
}

TEST_F(duplicate_extents, integrity_information_is_not_there) {
    constexpr uint32_t get_integrity = 0x0009027C;
    constexpr uint32_t set_integrity = 0x0009C280;
    file_id f = file_with("f", "x");
    EXPECT_EQ(ioctl(get_integrity, f, {}, 16).status, status::invalid_device_request);
    EXPECT_EQ(ioctl(set_integrity, f, bytes(8, 0), 0).status, status::invalid_device_request);
    EXPECT_EQ(ioctl(get_integrity, {123, 456}, {}, 16).status, status::file_closed);
}

} // namespace
} // namespace smbx::smb2
