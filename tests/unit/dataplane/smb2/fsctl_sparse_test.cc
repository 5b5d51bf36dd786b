// FSCTL_SET_SPARSE, FSCTL_SET_ZERO_DATA, FSCTL_FILE_LEVEL_TRIM and
// FSCTL_QUERY_ALLOCATED_RANGES: their parsers, and the handlers on a temporary share
// (a disk file system: holes and ZERO_RANGE as ext4 or xfs give them).
#include "dataplane/smb2/fsctl_sparse.hh"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "dataplane/smb2/fscc.hh"
#include "dataplane/vfs/file_open.hh"
#include "fsctl_harness.hh"

namespace smbx::smb2 {
namespace {

using testing::fsctl_fixture;

bytes two_values(int64_t a, int64_t b) {
    byte_writer w;
    w.u64(uint64_t(a));
    w.u64(uint64_t(b));
    return w.take();
}

bytes trim_input(const std::vector<std::pair<uint64_t, uint64_t>>& ranges,
                 uint32_t count_override = ~0u) {
    byte_writer w;
    w.u32(0); // Key
    w.u32(count_override == ~0u ? uint32_t(ranges.size()) : count_override);
    for (auto [offset, length] : ranges) {
        w.u64(offset);
        w.u64(length);
    }
    return w.take();
}

TEST(fsctl_sparse_parse, set_sparse_buffer) {
    EXPECT_TRUE(parse_set_sparse({})) << "no buffer means set";
    EXPECT_FALSE(parse_set_sparse(bytes{0}));
    EXPECT_TRUE(parse_set_sparse(bytes{0xFF}));
    EXPECT_TRUE(parse_set_sparse(bytes(100, 1))) << "an oversize buffer counts its first byte";
}

TEST(fsctl_sparse_parse, zero_data_range) {
    auto r = parse_zero_data(two_values(4096, 12288));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->offset, 4096u);
    EXPECT_EQ(r->length, 8192u);
    EXPECT_TRUE(parse_zero_data(two_values(5, 5))) << "an empty range";
    EXPECT_FALSE(parse_zero_data(two_values(10, 5))) << "offset beyond BeyondFinalZero";
    EXPECT_FALSE(parse_zero_data(two_values(-1, 5)));
    EXPECT_FALSE(parse_zero_data(two_values(0, -1)));
    EXPECT_FALSE(parse_zero_data(bytes(15, 0)));
}

TEST(fsctl_sparse_parse, file_level_trim_ranges) {
    auto r = parse_file_level_trim(trim_input({{0, 4096}, {8192, 100}}));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[1].offset, 8192u);
    EXPECT_EQ((*r)[1].length, 100u);
    EXPECT_FALSE(parse_file_level_trim(trim_input({{0, 4096}}, 2))) << "fewer ranges than counted";
    EXPECT_FALSE(parse_file_level_trim(trim_input({}, 0xFFFFFFFE)));
    EXPECT_FALSE(parse_file_level_trim(trim_input({{uint64_t(INT64_MAX), 1}})));
    EXPECT_FALSE(parse_file_level_trim(bytes(7, 0)));
    EXPECT_TRUE(parse_file_level_trim(trim_input({})));
}

TEST(fsctl_sparse_parse, allocated_range_buffer) {
    EXPECT_TRUE(parse_allocated_range(two_values(0, 100)));
    EXPECT_FALSE(parse_allocated_range({}));
    EXPECT_FALSE(parse_allocated_range(two_values(INT64_MAX, 1)));
    EXPECT_FALSE(parse_allocated_range(two_values(-4, 1)));
}

class fsctl_sparse : public fsctl_fixture {
protected:
    uint32_t attributes(file_id id) {
        auto r = call(handle_query_info, query_info_body(1, 4, id, 40)); // FileBasicInformation
        EXPECT_EQ(r.status, status::success);
        return r.body.size() >= 8 + 36 ? r.u32(8 + 32) : 0;
    }
    std::vector<std::pair<uint64_t, uint64_t>> allocated(file_id id, int64_t offset,
                                                         int64_t length) {
        auto r = ioctl(fsctl_query_allocated_ranges, id, two_values(offset, length), 1024);
        EXPECT_EQ(r.status, status::success);
        std::vector<std::pair<uint64_t, uint64_t>> out;
        bytes o = output_of(r);
        byte_reader rd(o);
        while (rd.remaining() >= 16) {
            uint64_t at = rd.u64();
            out.emplace_back(at, rd.u64());
        }
        return out;
    }
    using ranges = std::vector<std::pair<uint64_t, uint64_t>>;
    static constexpr size_t mib = 1 << 20;
};

TEST_F(fsctl_sparse, set_sparse_is_reported_and_survives_set_info) {
    file_id f = file_with("f", std::string(4096, 'x'));
    EXPECT_EQ(attributes(f) & vfs::attr_sparse_file, 0u) << "not sparse until a client says so";
    EXPECT_EQ(ioctl(fsctl_set_sparse, f, {}, 0).status, status::success);
    EXPECT_NE(attributes(f) & vfs::attr_sparse_file, 0u);
    // FileBasicInformation with HIDDEN only: SPARSE_FILE stays.
    byte_writer basic;
    basic.zeros(32);
    basic.u32(vfs::attr_hidden);
    basic.u32(0);
    ASSERT_EQ(call(handle_set_info, set_info_body(1, 4, f, basic.take())).status, status::success);
    EXPECT_EQ(attributes(f) & (vfs::attr_sparse_file | vfs::attr_hidden),
              vfs::attr_sparse_file | vfs::attr_hidden);
    EXPECT_EQ(ioctl(fsctl_set_sparse, f, bytes{0}, 0).status, status::success);
    EXPECT_EQ(attributes(f) & vfs::attr_sparse_file, 0u);
}

TEST_F(fsctl_sparse, set_sparse_refuses_directories_and_opens_without_write) {
    file_id d = open("d", rw, 2, vfs::file_directory_file);
    EXPECT_EQ(ioctl(fsctl_set_sparse, d, {}, 0).status, status::invalid_parameter);
    file_id ro = file_with("f", "x", vfs::file_read_data | vfs::file_read_attributes);
    EXPECT_EQ(ioctl(fsctl_set_sparse, ro, {}, 0).status, status::access_denied);
    file_id attrs_only = open("f", vfs::file_write_attributes, open_if);
    EXPECT_EQ(ioctl(fsctl_set_sparse, attrs_only, {}, 0).status, status::success);
}

TEST_F(fsctl_sparse, zero_data_punches_a_hole_in_a_sparse_file_only) {
    file_id f = file_with("f", std::string(3 * mib, 'x'));
    ASSERT_EQ(ioctl(fsctl_set_zero_data, f, two_values(mib, 2 * mib), 0).status, status::success);
    EXPECT_EQ(contents("f"),
              std::string(mib, 'x') + std::string(mib, '\0') + std::string(mib, 'x'));
    EXPECT_EQ(allocated(f, 0, 3 * mib), (ranges{{0, 3 * mib}})) << "not sparse: all allocated";

    ASSERT_EQ(ioctl(fsctl_set_sparse, f, {}, 0).status, status::success);
    ASSERT_EQ(ioctl(fsctl_set_zero_data, f, two_values(mib, 2 * mib), 0).status, status::success);
    EXPECT_EQ(allocated(f, 0, 3 * mib), (ranges{{0, mib}, {2 * mib, mib}}));
    EXPECT_EQ(allocated(f, mib, mib), ranges{}) << "the hole holds no data";
    struct stat st {};
    ASSERT_EQ(::stat(share.path("f").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, off_t(3 * mib));
    EXPECT_LE(uint64_t(st.st_blocks) * 512, 2 * mib + 65536) << "the hole is deallocated";
}

TEST_F(fsctl_sparse, zero_data_stops_at_the_end_of_file) {
    file_id f = file_with("f", std::string(10000, 'x'));
    ASSERT_EQ(ioctl(fsctl_set_zero_data, f, two_values(5000, 1 << 30), 0).status, status::success);
    EXPECT_EQ(contents("f"), std::string(5000, 'x') + std::string(5000, '\0'));
    EXPECT_EQ(ioctl(fsctl_set_zero_data, f, two_values(10, 5), 0).status,
              status::invalid_parameter);
    file_id ro = open("f", vfs::file_read_data, open_if);
    EXPECT_EQ(ioctl(fsctl_set_zero_data, ro, two_values(0, 5), 0).status, status::access_denied);
}

TEST_F(fsctl_sparse, file_level_trim_counts_ranges_and_zeroes_them) {
    file_id f = file_with("f", std::string(4 * mib, 'x'));
    auto r =
        ioctl(fsctl_file_level_trim, f, trim_input({{0, mib}, {2 * mib, mib}, {8 * mib, mib}}), 4);
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(output_of(r), (bytes{3, 0, 0, 0})) << "NumRangesProcessed, the one past EOF too";
    EXPECT_EQ(contents("f"), std::string(mib, '\0') + std::string(mib, 'x') +
                                 std::string(mib, '\0') + std::string(mib, 'x'));
    EXPECT_EQ(ioctl(fsctl_file_level_trim, f, trim_input({{0, 1}}, 5), 4).status,
              status::invalid_parameter);
}

TEST_F(fsctl_sparse, query_allocated_ranges_without_room) {
    file_id f = file_with("f", "");
    EXPECT_EQ(ioctl(fsctl_query_allocated_ranges, f, two_values(0, 1024), 0).status,
              status::success)
        << "no range needs no room";
    share.write("f", std::string(1024, 'x'));
    EXPECT_EQ(ioctl(fsctl_query_allocated_ranges, f, two_values(0, 1024), 0).status,
              status::buffer_too_small);
    EXPECT_EQ(ioctl(fsctl_query_allocated_ranges, f, {}, 1024).status, status::invalid_parameter);
}

TEST_F(fsctl_sparse, volume_advertises_sparse_files) {
    file_id f = file_with("f", "");
    auto r = call(handle_query_info, query_info_body(2, fscc::fs_attribute_information, f, 1024));
    ASSERT_EQ(r.status, status::success);
    EXPECT_NE(r.u32(8) & fscc::fs_supports_sparse_files, 0u);
}

} // namespace
} // namespace smbx::smb2
