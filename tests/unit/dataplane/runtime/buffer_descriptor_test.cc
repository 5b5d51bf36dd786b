// SMB_DIRECT_BUFFER_DESCRIPTOR_V1 lists (MS-SMBD 2.2.3.1), as SMB2 READ and WRITE carry
// them in their channel info (MS-SMB2 2.2.19, 2.2.21).
#include "dataplane/runtime/buffer_descriptor.hh"

#include <gtest/gtest.h>

using namespace smbx;

TEST(buffer_descriptor, buffer_descriptor_list_round_trips) {
    std::vector<buffer_descriptor_v1> list = {{0x1122334455667788ull, 0xAABBCCDD, 65536},
                                              {0x1000, 7, 4096}};
    byte_writer w;
    write_buffer_descriptors(w, list);
    ASSERT_EQ(w.size(), 32u);
    // Offset is little-endian at 0, Token at 8, Length at 12.
    EXPECT_EQ(w.buffer()[0], 0x88);
    EXPECT_EQ(w.buffer()[8], 0xDD);
    EXPECT_EQ(w.buffer()[14], 0x01);
    auto back = parse_buffer_descriptors(w.buffer());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, list);
    EXPECT_EQ(total_length(*back), 65536u + 4096u);
}

TEST(buffer_descriptor, buffer_descriptor_list_must_be_whole_descriptors) {
    bytes blob(17, 0);
    EXPECT_FALSE(parse_buffer_descriptors(blob));
    EXPECT_FALSE(parse_buffer_descriptors({}));
    blob.resize(48);
    auto list = parse_buffer_descriptors(blob);
    ASSERT_TRUE(list);
    EXPECT_EQ(list->size(), 3u);
}

TEST(buffer_descriptor, total_length_does_not_wrap) {
    std::vector<buffer_descriptor_v1> list(3, {0, 1, 0xFFFFFFFFu});
    EXPECT_EQ(total_length(list), 3ull * 0xFFFFFFFFull);
}
