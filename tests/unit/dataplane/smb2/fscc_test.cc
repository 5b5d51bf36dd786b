// The MS-FSCC encoders: exact sizes and field offsets.
#include "dataplane/smb2/fscc.hh"

#include <gtest/gtest.h>

namespace smbx::smb2::fscc {
namespace {

vfs::file_info sample() {
    vfs::file_info fi;
    fi.creation_time = 0x1111111111111111ULL;
    fi.last_access_time = 0x2222222222222222ULL;
    fi.last_write_time = 0x3333333333333333ULL;
    fi.change_time = 0x4444444444444444ULL;
    fi.allocation_size = 4096;
    fi.end_of_file = 1234;
    fi.attributes = 0x20;
    fi.number_of_links = 2;
    fi.index_number = 0xABCDEF0123ULL;
    return fi;
}

uint32_t u32(const bytes& b, size_t at) {
    return b.at(at) | (b.at(at + 1) << 8) | (b.at(at + 2) << 16) | (uint32_t(b.at(at + 3)) << 24);
}
uint64_t u64(const bytes& b, size_t at) {
    return u32(b, at) | (uint64_t(u32(b, at + 4)) << 32);
}

template <typename F> bytes enc(F f) {
    byte_writer w;
    f(w);
    return w.take();
}

TEST(fscc, fixed_sizes) {
    auto fi = sample();
    EXPECT_EQ(enc([&](auto& w) { put_basic(w, fi); }).size(), 40u);
    EXPECT_EQ(enc([&](auto& w) { put_standard(w, fi, false); }).size(), 24u);
    EXPECT_EQ(enc([&](auto& w) { put_internal(w, fi); }).size(), 8u);
    EXPECT_EQ(enc([&](auto& w) { put_ea(w, 0); }).size(), 4u);
    EXPECT_EQ(enc([&](auto& w) { put_network_open(w, fi); }).size(), 56u);
    EXPECT_EQ(enc([&](auto& w) { put_attribute_tag(w, fi); }).size(), 8u);
    EXPECT_EQ(enc([&](auto& w) { put_compression(w, fi); }).size(), 16u);
    EXPECT_EQ(enc([&](auto& w) { put_id(w, fi); }).size(), 24u);
    EXPECT_EQ(enc([&](auto& w) { put_fs_size(w, {}); }).size(), 24u);
    EXPECT_EQ(enc([&](auto& w) { put_fs_full_size(w, {}); }).size(), 32u);
    EXPECT_EQ(enc([&](auto& w) { put_fs_device(w); }).size(), 8u);
    EXPECT_EQ(enc([&](auto& w) { put_fs_sector_size(w, 512); }).size(), 28u);
    uint8_t id[16] = {};
    EXPECT_EQ(enc([&](auto& w) { put_fs_object_id(w, id); }).size(), 64u);
}

TEST(fscc, basic_layout) {
    auto b = enc([&](auto& w) { put_basic(w, sample()); });
    EXPECT_EQ(u64(b, 0), 0x1111111111111111ULL);
    EXPECT_EQ(u64(b, 8), 0x2222222222222222ULL);
    EXPECT_EQ(u64(b, 16), 0x3333333333333333ULL);
    EXPECT_EQ(u64(b, 24), 0x4444444444444444ULL);
    EXPECT_EQ(u32(b, 32), 0x20u);
}

TEST(fscc, standard_layout_and_delete_pending) {
    auto fi = sample();
    fi.directory = true;
    auto b = enc([&](auto& w) { put_standard(w, fi, true); });
    EXPECT_EQ(u64(b, 0), 4096u);
    EXPECT_EQ(u64(b, 8), 1234u);
    EXPECT_EQ(u32(b, 16), 1u); // one link fewer while delete pending
    EXPECT_EQ(b[20], 1);
    EXPECT_EQ(b[21], 1);
}

TEST(fscc, network_open_layout) {
    auto b = enc([&](auto& w) { put_network_open(w, sample()); });
    EXPECT_EQ(u64(b, 32), 4096u); // AllocationSize before EndOfFile
    EXPECT_EQ(u64(b, 40), 1234u);
    EXPECT_EQ(u32(b, 48), 0x20u);
}

TEST(fscc, all_information_with_name) {
    open_fields o;
    o.delete_pending = false;
    o.access_flags = 0x12019F;
    o.position = 77;
    o.mode = 0x2;
    o.alignment = 0;
    o.name = "\\dir\\f\xC3\xA9"; // "\dir\fé": 7 UTF-16 units
    auto b = enc([&](auto& w) { put_all(w, sample(), o); });
    ASSERT_EQ(b.size(), 100u + 14);
    EXPECT_EQ(u64(b, 40 + 8), 1234u);       // StandardInformation.EndOfFile
    EXPECT_EQ(u64(b, 64), 0xABCDEF0123ULL); // InternalInformation
    EXPECT_EQ(u32(b, 72), 0u);              // EaSize
    EXPECT_EQ(u32(b, 76), 0x12019Fu);       // AccessFlags
    EXPECT_EQ(u64(b, 80), 77u);             // CurrentByteOffset
    EXPECT_EQ(u32(b, 88), 0x2u);            // Mode
    EXPECT_EQ(u32(b, 92), 0u);              // AlignmentRequirement
    EXPECT_EQ(u32(b, 96), 14u);             // FileNameLength
    EXPECT_EQ(b[100], '\\');
    EXPECT_EQ(b[112], 0xE9);
}

TEST(fscc, stream_information) {
    std::vector<stream_fields> streams{{"::$DATA", 1234, 4096}, {":ab:$DATA", 3, 4096}};
    auto b = enc([&](auto& w) { put_streams(w, streams); });
    ASSERT_EQ(b.size(), 40u + 24 + 18); // the first entry padded to 8 bytes
    EXPECT_EQ(u32(b, 0), 40u);
    EXPECT_EQ(u32(b, 4), 14u);
    EXPECT_EQ(u64(b, 8), 1234u);
    EXPECT_EQ(u64(b, 16), 4096u);
    EXPECT_EQ(u32(b, 40), 0u);
    EXPECT_EQ(u32(b, 44), 18u);
    EXPECT_EQ(u64(b, 48), 3u);
    EXPECT_TRUE(enc([&](auto& w) { put_streams(w, {}); }).empty());
}

TEST(fscc, directory_entry_layouts) {
    auto fi = sample();
    struct {
        uint8_t cls;
        size_t fixed;
        size_t name_length_at;
    } cases[] = {
        {file_directory_information, 64, 60},          {file_full_directory_information, 68, 60},
        {file_both_directory_information, 94, 60},     {file_names_information, 12, 8},
        {file_id_both_directory_information, 104, 60}, {file_id_full_directory_information, 80, 60},
        {file_id_extd_directory_information, 88, 60}};
    for (const auto& c : cases) {
        EXPECT_EQ(dir_entry_fixed_size(c.cls), c.fixed) << int(c.cls);
        auto b = enc([&](auto& w) { put_dir_entry(w, c.cls, fi, "abc"); });
        ASSERT_EQ(b.size(), c.fixed + 6) << int(c.cls);
        EXPECT_EQ(u32(b, 0), 0u);
        EXPECT_EQ(u32(b, c.name_length_at), 6u) << int(c.cls);
        EXPECT_EQ(b[c.fixed], 'a') << int(c.cls);
        if (c.cls != file_names_information) {
            EXPECT_EQ(u64(b, 8), 0x1111111111111111ULL);
            EXPECT_EQ(u64(b, 40), 1234u); // EndOfFile before AllocationSize
            EXPECT_EQ(u64(b, 48), 4096u);
            EXPECT_EQ(u32(b, 56), 0x20u);
        }
    }
    auto idb = enc(
        [&](auto& w) { put_dir_entry(w, file_id_both_directory_information, fi, "x", "AB.C"); });
    EXPECT_EQ(idb[68], 8);   // ShortNameLength
    EXPECT_EQ(idb[70], 'A'); // ShortName[24]
    EXPECT_EQ(idb[76], 'C');
    EXPECT_EQ(idb[78], 0);
    EXPECT_EQ(u64(idb, 96), 0xABCDEF0123ULL); // FileId after Reserved2
    auto idf = enc([&](auto& w) { put_dir_entry(w, file_id_full_directory_information, fi, "x"); });
    EXPECT_EQ(u64(idf, 72), 0xABCDEF0123ULL);
    auto ide = enc([&](auto& w) { put_dir_entry(w, file_id_extd_directory_information, fi, "x"); });
    EXPECT_EQ(u64(ide, 72), 0xABCDEF0123ULL);
    EXPECT_EQ(dir_entry_fixed_size(file_basic_information), 0u);
}

TEST(fscc, filesystem_variable_classes) {
    auto v = enc([&](auto& w) { put_fs_volume(w, 5, 0xCAFE, "vol"); });
    ASSERT_EQ(v.size(), 18u + 6);
    EXPECT_EQ(u64(v, 0), 5u);
    EXPECT_EQ(u32(v, 8), 0xCAFEu);
    EXPECT_EQ(u32(v, 12), 6u);
    EXPECT_EQ(v[18], 'v');
    auto a = enc([&](auto& w) { put_fs_attribute(w, 0x6, 255, "NTFS"); });
    ASSERT_EQ(a.size(), 12u + 8);
    EXPECT_EQ(u32(a, 0), 0x6u);
    EXPECT_EQ(u32(a, 4), 255u);
    EXPECT_EQ(u32(a, 8), 8u);
    fs_stats s{100, 50, 40, 8, 512};
    auto f = enc([&](auto& w) { put_fs_full_size(w, s); });
    EXPECT_EQ(u64(f, 0), 100u);
    EXPECT_EQ(u64(f, 8), 50u);
    EXPECT_EQ(u64(f, 16), 40u);
    EXPECT_EQ(u32(f, 24), 8u);
    EXPECT_EQ(u32(f, 28), 512u);
}

} // namespace
} // namespace smbx::smb2::fscc
