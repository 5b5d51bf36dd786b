#include "dataplane/smb2/lock_request.hh"

#include <gtest/gtest.h>

using namespace smbx;

namespace {

// LOCK request body (2.2.26) with `count` in LockCount and `elements` elements.
bytes lock_body(uint16_t count, size_t elements) {
    byte_writer w;
    w.u16(48);
    w.u16(count);
    w.u32(0);
    w.u64(0x1111); // FileId.Persistent
    w.u64(0x2222); // FileId.Volatile
    for (size_t i = 0; i < elements; ++i) {
        w.u64(100 * i); // Offset
        w.u64(10);      // Length
        w.u32(0x12);    // exclusive, fail immediately
        w.u32(0);
    }
    return w.take();
}

} // namespace

TEST(lock_request, elements_and_file_id_are_read) {
    auto parsed = smb2::parse_lock_request(lock_body(2, 2));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->id.persistent, 0x1111u);
    EXPECT_EQ(parsed->id.volatile_id, 0x2222u);
    ASSERT_EQ(parsed->locks.size(), 2u);
    EXPECT_EQ(parsed->locks[1].offset, 100u);
    EXPECT_EQ(parsed->locks[1].length, 10u);
    EXPECT_EQ(parsed->locks[1].flags, 0x12u);
}

TEST(lock_request, zero_count_and_elements_past_the_body_are_refused) {
    EXPECT_FALSE(smb2::parse_lock_request(lock_body(0, 1)));
    EXPECT_FALSE(smb2::parse_lock_request(lock_body(2, 1)));
    // smb2_command_fuzz: LockCount 65,535 in a request that holds one element made the
    // server read 65,535 elements from an exhausted reader and grow a vector of them.
    EXPECT_FALSE(smb2::parse_lock_request(lock_body(65535, 1)));
    bytes cut = lock_body(1, 1);
    cut.pop_back(); // the element's Reserved field cut short
    EXPECT_FALSE(smb2::parse_lock_request(cut));
}
