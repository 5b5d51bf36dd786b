#include "dataplane/vfs/sid.hh"

#include <gtest/gtest.h>

namespace smbx::vfs {
namespace {

TEST(sid, well_known_strings) {
    EXPECT_EQ(everyone_sid().to_string(), "S-1-1-0");
    EXPECT_EQ(creator_owner_sid().to_string(), "S-1-3-0");
    EXPECT_EQ(creator_group_sid().to_string(), "S-1-3-1");
    EXPECT_EQ(anonymous_sid().to_string(), "S-1-5-7");
    EXPECT_EQ(authenticated_users_sid().to_string(), "S-1-5-11");
    EXPECT_EQ(system_sid().to_string(), "S-1-5-18");
    EXPECT_EQ(administrators_sid().to_string(), "S-1-5-32-544");
    EXPECT_EQ(unix_user_sid(1000).to_string(), "S-1-22-1-1000");
}

TEST(sid, user_sids_are_stable_and_ignore_case) {
    sid a = user_sid("SMBX", "alice");
    EXPECT_EQ(a, user_sid("smbx", "ALICE"));
    EXPECT_NE(a, user_sid("SMBX", "bob"));
    EXPECT_NE(a, user_sid("OTHER", "alice"));
    ASSERT_EQ(a.sub_authorities.size(), 5u);
    EXPECT_EQ(a.authority, 5u);
    EXPECT_EQ(a.sub_authorities[0], 21u);
    EXPECT_GE(a.sub_authorities[4], 1000u);
    EXPECT_LT(a.sub_authorities[4], 0x80000000u);
    sid d = domain_sid("SMBX");
    sid g = guest_sid("SMBX");
    EXPECT_EQ(g.sub_authorities.back(), 501u);
    EXPECT_TRUE(
        std::equal(d.sub_authorities.begin(), d.sub_authorities.end(), g.sub_authorities.begin()));
    // The same on every host and build: a fixed hash, not std::hash.
    EXPECT_EQ(user_sid("SMBX", "alice").to_string(), a.to_string());
}

TEST(sid, wire_round_trip) {
    sid a = user_sid("SMBX", "alice");
    byte_writer w;
    write_sid(w, a);
    EXPECT_EQ(w.size(), a.wire_size());
    bytes b = w.take();
    byte_reader r(b);
    auto back = read_sid(r);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, a);
    EXPECT_EQ(r.remaining(), 0u);
}

TEST(sid, malformed_sids_are_refused) {
    bytes truncated = {1, 2, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0};
    byte_reader r1(truncated);
    EXPECT_FALSE(read_sid(r1));
    bytes bad_revision = {2, 0, 0, 0, 0, 0, 0, 1};
    byte_reader r2(bad_revision);
    EXPECT_FALSE(read_sid(r2));
    bytes too_many(8 + 16 * 4);
    too_many[0] = 1;
    too_many[1] = 16;
    byte_reader r3(too_many);
    EXPECT_FALSE(read_sid(r3));
}

} // namespace
} // namespace smbx::vfs
