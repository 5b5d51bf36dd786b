// The lease arbitration messages on the control ring: every field round-trips, and a
// message cut short, with bytes left over, or of another type does not decode.
#include "common/lease_ipc.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::ipc;

namespace {

TEST(lease_ipc, an_open_request_round_trips_every_field) {
    lease_open_request m;
    m.open = 0x0102030405060708ull;
    m.file = "2049:131:stream";
    m.directory = true;
    m.has_lease = true;
    m.client[0] = 0xC1;
    m.lease_key[15] = 0x4B;
    m.lease_version = 2;
    m.epoch = 0x4711;
    m.requested = 7;
    m.oplock = 0xFF;
    m.overwrite = true;
    m.level2_oplocks = false;
    m.after_break = true;
    bytes wire = encode_fields(42, m);
    auto h = decode_header(wire);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->type, msg_type::lease_open_request);
    EXPECT_EQ(h->id, 42u);
    auto back = decode_fields<lease_open_request>(wire);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->open, m.open);
    EXPECT_EQ(back->file, m.file);
    EXPECT_TRUE(back->directory);
    EXPECT_TRUE(back->has_lease);
    EXPECT_EQ(back->client, m.client);
    EXPECT_EQ(back->lease_key, m.lease_key);
    EXPECT_EQ(back->lease_version, 2);
    EXPECT_EQ(back->epoch, 0x4711);
    EXPECT_EQ(back->requested, 7);
    EXPECT_EQ(back->oplock, 0xFF);
    EXPECT_TRUE(back->overwrite);
    EXPECT_FALSE(back->level2_oplocks);
    EXPECT_TRUE(back->after_break);
}

TEST(lease_ipc, cut_padded_or_mistyped_messages_do_not_decode) {
    lease_break b;
    b.via = 9;
    b.epoch = 3;
    bytes wire = encode_fields(0, b);
    ASSERT_TRUE(decode_fields<lease_break>(wire));
    EXPECT_FALSE(decode_fields<lease_ack_reply>(wire)) << "another type";
    bytes cut(wire.begin(), wire.end() - 1);
    EXPECT_FALSE(decode_fields<lease_break>(cut));
    bytes padded = wire;
    padded.push_back(0);
    EXPECT_FALSE(decode_fields<lease_break>(padded));
    // A string whose length runs past the message.
    bytes s = encode_fields(0, lease_released{"abc"});
    s[16] = 200;
    EXPECT_FALSE(decode_fields<lease_released>(s));
}

} // namespace
