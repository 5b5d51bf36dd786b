// Server-side copy: SRV_COPYCHUNK_COPY parsing and its limits, resume keys, and
// FSCTL_SRV_REQUEST_RESUME_KEY / FSCTL_SRV_COPYCHUNK(_WRITE) through the IOCTL handler.
#include "dataplane/smb2/fsctl_copychunk.hh"

#include <string>

#include "dataplane/runtime/data_path_counters.hh"
#include "fsctl_harness.hh"

namespace smbx::smb2 {
namespace {

using testing::fsctl_fixture;

struct chunk_spec {
    uint64_t source_offset;
    uint64_t target_offset;
    uint32_t length;
};

bytes copy_input(const resume_key& key, const std::vector<chunk_spec>& chunks,
                 uint32_t count_override = ~0u) {
    byte_writer w;
    w.put(key.data(), key.size());
    w.u32(count_override == ~0u ? uint32_t(chunks.size()) : count_override);
    w.u32(0);
    for (const auto& c : chunks) {
        w.u64(c.source_offset);
        w.u64(c.target_offset);
        w.u32(c.length);
        w.u32(0);
    }
    return w.take();
}

TEST(copychunk_parse, chunks_within_limits) {
    resume_key key{};
    key[0] = 0xAB;
    auto c = parse_copychunk_copy(copy_input(key, {{0, 10, 4096}, {4096, 0, 100}}));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->source_key[0], 0xAB);
    ASSERT_EQ(c->chunks.size(), 2u);
    EXPECT_EQ(c->chunks[0].target_offset, 10u);
    EXPECT_EQ(c->chunks[1].source_offset, 4096u);
    EXPECT_EQ(c->chunks[1].length, 100u);
}

TEST(copychunk_parse, the_limits_answer_nullopt) {
    resume_key key{};
    EXPECT_FALSE(parse_copychunk_copy(bytes(31, 0))) << "shorter than the header";
    EXPECT_FALSE(parse_copychunk_copy(copy_input(key, {{0, 0, 1}}, 2)))
        << "fewer chunks than counted";
    EXPECT_FALSE(parse_copychunk_copy(copy_input(key, {{0, 0, 0}}))) << "a chunk of length 0";
    EXPECT_FALSE(parse_copychunk_copy(copy_input(key, {{0, 0, copychunk_max_chunk_size + 1}})));
    std::vector<chunk_spec> many(copychunk_max_chunks + 1, chunk_spec{0, 0, 1});
    EXPECT_FALSE(parse_copychunk_copy(copy_input(key, many))) << "257 chunks";
    many.pop_back();
    EXPECT_TRUE(parse_copychunk_copy(copy_input(key, many))) << "256 chunks";
    std::vector<chunk_spec> big(16, chunk_spec{0, 0, copychunk_max_chunk_size});
    EXPECT_TRUE(parse_copychunk_copy(copy_input(key, big))) << "16 MiB in all";
    big.push_back({0, 0, 1});
    EXPECT_FALSE(parse_copychunk_copy(copy_input(key, big))) << "16 MiB + 1 in all";
    EXPECT_FALSE(parse_copychunk_copy(copy_input(key, {{uint64_t(INT64_MAX), 0, 1}})));
    EXPECT_FALSE(parse_copychunk_copy(copy_input(key, {{0, ~0ULL - 10, 100}})));
}

TEST(copychunk_parse, response_is_three_little_endian_counts) {
    bytes r = encode_copychunk_response(1, 0x0200, 0x030000);
    EXPECT_EQ(r, (bytes{1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0}));
}

TEST(resume_key, names_the_open_only_in_its_session) {
    file_id fid{0x1122334455667788ULL, 0x99};
    auto key = make_resume_key(7, fid);
    auto back = resume_key_open(key, 7);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->persistent, fid.persistent);
    EXPECT_EQ(back->volatile_id, fid.volatile_id);
    EXPECT_FALSE(resume_key_open(key, 8)) << "another session";
    auto forged = key;
    forged[20] ^= 1;
    EXPECT_FALSE(resume_key_open(forged, 7)) << "a changed tag";
    auto other_open = key;
    other_open[8] ^= 1; // another volatile id with the first open's tag
    EXPECT_FALSE(resume_key_open(other_open, 7));
}

class copychunk : public fsctl_fixture {
protected:
    resume_key key_of(file_id src) {
        auto r = ioctl(fsctl_srv_request_resume_key, src, {}, 32);
        EXPECT_EQ(r.status, status::success);
        bytes out = output_of(r);
        EXPECT_EQ(out.size(), 32u);
        resume_key key{};
        std::copy_n(out.begin(), std::min<size_t>(out.size(), key.size()), key.begin());
        return key;
    }
    // ChunksWritten, ChunkBytesWritten, TotalBytesWritten of a response.
    static std::array<uint32_t, 3> counts(const vfs::testing::result& r) {
        bytes out = output_of(r);
        if (out.size() != 12) {
            return {~0u, ~0u, ~0u};
        }
        byte_reader rd(out);
        return {rd.u32(), rd.u32(), rd.u32()};
    }
    static std::string pattern(size_t n) {
        std::string s(n, '\0');
        for (size_t i = 0; i < n; ++i) {
            s[i] = char('a' + (i * 7 + i / 251) % 26);
        }
        return s;
    }
};

TEST_F(copychunk, copies_the_chunks_and_counts_the_bytes) {
    std::string data = pattern(3 << 20);
    file_id src = file_with("src", data);
    file_id dst = open("dst", rw, overwrite_if);
    auto key = key_of(src);
    auto before = counters::total(&counters::data_path::server_copy_bytes);
    auto r =
        ioctl(fsctl_srv_copychunk, dst,
              copy_input(
                  key, {{0, 0, 1 << 20}, {1 << 20, 1 << 20, 1 << 20}, {2 << 20, 2 << 20, 1 << 20}}),
              12);
    EXPECT_EQ(r.status, status::success);
    EXPECT_EQ(counts(r), (std::array<uint32_t, 3>{3, 0, 3u << 20}));
    EXPECT_EQ(contents("dst"), data);
    EXPECT_EQ(counters::total(&counters::data_path::server_copy_bytes) - before, 3u << 20);
}

TEST_F(copychunk, limits_exceeded_answers_the_servers_limits) {
    file_id src = file_with("src", pattern(4096));
    file_id dst = open("dst", rw, overwrite_if);
    auto r = ioctl(fsctl_srv_copychunk, dst, copy_input(key_of(src), {{0, 0, 0xFFFFFFFF}}), 12);
    EXPECT_EQ(r.status, status::invalid_parameter);
    EXPECT_FALSE(r.error) << "the limits travel in an IOCTL response, not an error body";
    EXPECT_EQ(counts(r), (std::array<uint32_t, 3>{256, 1u << 20, 16u << 20}));
    EXPECT_EQ(contents("dst"), "");
}

TEST_F(copychunk, max_output_below_the_response_is_invalid_parameter) {
    file_id src = file_with("src", pattern(4096));
    file_id dst = open("dst", rw, overwrite_if);
    auto r = ioctl(fsctl_srv_copychunk, dst, copy_input(key_of(src), {{0, 0, 4096}}), 11);
    EXPECT_EQ(r.status, status::invalid_parameter);
    EXPECT_TRUE(r.error);
    EXPECT_EQ(contents("dst"), "");
}

TEST_F(copychunk, a_key_of_another_session_names_nothing) {
    file_id src = file_with("src", pattern(4096));
    auto key = key_of(src);
    // Session 8 opens its own target and presents session 7's key.
    auto created = call_as_other_session(handle_create, create_body("dst", rw, overwrite_if));
    ASSERT_EQ(created.status, status::success);
    file_id dst = id_of(created);
    auto r = call_as_other_session(
        handle_ioctl, ioctl_body(fsctl_srv_copychunk, dst, copy_input(key, {{0, 0, 4096}}), 12));
    EXPECT_EQ(r.status, status::object_name_not_found);
    EXPECT_EQ(contents("dst"), "");
}

TEST_F(copychunk, a_made_up_key_names_nothing) {
    file_id src = file_with("src", pattern(4096));
    file_id dst = open("dst", rw, overwrite_if);
    resume_key key{};
    std::memcpy(key.data(), &src.persistent, 8); // the right FileId, no valid tag
    std::memcpy(key.data() + 8, &src.volatile_id, 8);
    auto r = ioctl(fsctl_srv_copychunk, dst, copy_input(key, {{0, 0, 4096}}), 12);
    EXPECT_EQ(r.status, status::object_name_not_found);
}

TEST_F(copychunk, access_source_read_target_write_and_read_for_copychunk) {
    std::string data = pattern(4096);
    file_id write_only_src = file_with("src", data, vfs::file_write_data);
    file_id dst = open("dst", rw, overwrite_if);
    auto r =
        ioctl(fsctl_srv_copychunk, dst, copy_input(key_of(write_only_src), {{0, 0, 4096}}), 12);
    EXPECT_EQ(r.status, status::access_denied) << "source without FILE_READ_DATA";

    file_id src = open("src", vfs::file_read_data, open_if);
    file_id read_only_dst = open("dst", vfs::file_read_data, open_if);
    r = ioctl(fsctl_srv_copychunk, read_only_dst, copy_input(key_of(src), {{0, 0, 4096}}), 12);
    EXPECT_EQ(r.status, status::access_denied) << "target without FILE_WRITE_DATA";

    file_id write_only_dst = open("dst", vfs::file_write_data, open_if);
    r = ioctl(fsctl_srv_copychunk, write_only_dst, copy_input(key_of(src), {{0, 0, 4096}}), 12);
    EXPECT_EQ(r.status, status::access_denied) << "COPYCHUNK needs FILE_READ_DATA on the target";
    EXPECT_EQ(contents("dst"), "");
    r = ioctl(fsctl_srv_copychunk_write, write_only_dst, copy_input(key_of(src), {{0, 0, 4096}}),
              12);
    EXPECT_EQ(r.status, status::success) << "COPYCHUNK_WRITE does not";
    EXPECT_EQ(contents("dst"), data);
}

TEST_F(copychunk, a_chunk_beyond_the_source_end_keeps_the_chunks_before_it) {
    std::string data = pattern(8192);
    file_id src = file_with("src", data);
    file_id dst = open("dst", rw, overwrite_if);
    auto r = ioctl(fsctl_srv_copychunk, dst,
                   copy_input(key_of(src), {{0, 0, 4096}, {4096, 4096, 8192}}), 12);
    EXPECT_EQ(r.status, status::invalid_view_size);
    EXPECT_EQ(counts(r), (std::array<uint32_t, 3>{1, 0, 4096}));
    EXPECT_EQ(contents("dst"), data.substr(0, 4096));
}

TEST_F(copychunk, a_locked_range_is_a_lock_conflict) {
    file_id src = file_with("src", pattern(4096));
    file_id dst = open("dst", rw, overwrite_if);
    file_id other = open("src", rw, open_if);
    byte_writer lock;
    lock.u16(48);
    lock.u16(1); // LockCount
    lock.u32(0);
    put_id(lock, other);
    lock.u64(0);
    lock.u64(4096);
    lock.u32(2 | 0x10); // EXCLUSIVE | FAIL_IMMEDIATELY
    lock.u32(0);
    ASSERT_EQ(call(handle_lock, lock.take()).status, status::success);
    auto r = ioctl(fsctl_srv_copychunk, dst, copy_input(key_of(src), {{0, 0, 4096}}), 12);
    EXPECT_EQ(r.status, status::file_lock_conflict);
    EXPECT_EQ(counts(r), (std::array<uint32_t, 3>{0, 0, 0}));
}

TEST_F(copychunk, overlapping_ranges_of_one_file_copy_as_memmove) {
    std::string data = pattern(3 << 20);
    file_id f = file_with("f", data);
    auto key = key_of(f);
    // Up by 1000 bytes, then down by 3000 (each a 1 MiB chunk overlapping itself).
    auto r = ioctl(
        fsctl_srv_copychunk, f,
        copy_input(key, {{0, 1000, 1 << 20}, {(1 << 20) + 5000, (1 << 20) + 2000, 1 << 20}}), 12);
    EXPECT_EQ(r.status, status::success);
    std::string expected = data;
    expected.replace(1000, 1 << 20, data.substr(0, 1 << 20));
    std::string moved = expected.substr((1 << 20) + 5000, 1 << 20);
    expected.replace((1 << 20) + 2000, 1 << 20, moved);
    EXPECT_TRUE(contents("f") == expected);
}

TEST_F(copychunk, a_stream_or_directory_is_not_copied) {
    file_id src = file_with("src", pattern(4096));
    file_id stream = open("src:extra", rw, open_if);
    auto r = ioctl(fsctl_srv_copychunk, stream, copy_input(key_of(src), {{0, 0, 4096}}), 12);
    EXPECT_EQ(r.status, status::not_supported);
    EXPECT_EQ(contents("src"), pattern(4096)) << "the base file is untouched";
}

} // namespace
} // namespace smbx::smb2
