// The lease create contexts, break notifications, acknowledgements and responses, byte
// for byte against the layouts of MS-SMB2 2.2.13.2.8/.10, 2.2.14.2.10/.11, 2.2.23-25.
#include "dataplane/smb2/lease_messages.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::smb2;

namespace {

lease_key key(uint8_t first) {
    lease_key k{};
    for (size_t i = 0; i < k.size(); ++i) {
        k[i] = uint8_t(first + i);
    }
    return k;
}

uint32_t u32_at(const bytes& b, size_t at) {
    byte_reader r(b);
    r.seek(at);
    return r.u32();
}

TEST(lease_messages, v1_and_v2_lease_contexts_are_told_apart_by_size_and_round_trip) {
    lease_context v2;
    v2.version = 2;
    v2.key = key(1);
    v2.state = 7;
    v2.flags = lease_flag_parent_lease_key_set;
    v2.parent = key(0x40);
    v2.epoch = 0x4711;
    bytes wire = write_lease_context(v2);
    ASSERT_EQ(wire.size(), lease_context_v2_size);
    EXPECT_EQ(wire[0], 1);           // LeaseKey first
    EXPECT_EQ(u32_at(wire, 16), 7u); // LeaseState
    EXPECT_EQ(u32_at(wire, 20), 4u); // Flags
    EXPECT_EQ(wire[32], 0x40);       // ParentLeaseKey after LeaseDuration
    EXPECT_EQ(wire[48], 0x11);       // Epoch
    EXPECT_EQ(wire[49], 0x47);
    auto back = parse_lease_context(wire);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->version, 2);
    EXPECT_EQ(back->key, v2.key);
    EXPECT_EQ(back->parent, v2.parent);
    EXPECT_EQ(back->epoch, 0x4711);

    lease_context v1 = v2;
    v1.version = 1;
    bytes w1 = write_lease_context(v1);
    ASSERT_EQ(w1.size(), lease_context_v1_size);
    auto b1 = parse_lease_context(w1);
    ASSERT_TRUE(b1);
    EXPECT_EQ(b1->version, 1);
    EXPECT_EQ(b1->state, 7u);
    EXPECT_EQ(b1->epoch, 0) << "v1 has no epoch";
}

TEST(lease_messages, a_lease_context_of_another_size_is_refused) {
    for (size_t n : {0, 16, 31, 33, 51, 53, 64}) {
        EXPECT_FALSE(parse_lease_context(bytes(n, 0))) << n;
    }
}

TEST(lease_messages, acknowledgements_are_read_by_their_structure_size) {
    vfs::file_id id{0x1122334455667788ull, 0x99};
    bytes oplock = write_oplock_break(0x01, id);
    ASSERT_EQ(oplock.size(), 24u);
    auto a = parse_oplock_break_ack(oplock);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->level, 0x01);
    EXPECT_EQ(a->id.persistent, id.persistent);
    EXPECT_EQ(a->id.volatile_id, id.volatile_id);
    EXPECT_FALSE(parse_lease_break_ack(oplock)) << "24 is an oplock's";

    bytes lease = write_lease_break_response(key(9), 3);
    ASSERT_EQ(lease.size(), 36u);
    auto l = parse_lease_break_ack(lease); // the acknowledgement has the same layout
    ASSERT_TRUE(l);
    EXPECT_EQ(l->key, key(9));
    EXPECT_EQ(l->state, 3u);
    EXPECT_FALSE(parse_oplock_break_ack(lease));

    lease.resize(35);
    EXPECT_FALSE(parse_lease_break_ack(lease)) << "cut short";
    oplock.resize(23);
    EXPECT_FALSE(parse_oplock_break_ack(oplock));
}

TEST(lease_messages, a_lease_break_notification_has_the_layout_of_2_2_23_2) {
    bytes n = write_lease_break_notification(key(1), 7, 3, 5, true);
    ASSERT_EQ(n.size(), 44u);
    EXPECT_EQ(n[0], 44);
    EXPECT_EQ(n[2], 5); // NewEpoch
    EXPECT_EQ(u32_at(n, 4), lease_break_flag_ack_required);
    EXPECT_EQ(n[8], 1);           // LeaseKey
    EXPECT_EQ(u32_at(n, 24), 7u); // CurrentLeaseState
    EXPECT_EQ(u32_at(n, 28), 3u); // NewLeaseState
    EXPECT_EQ(u32_at(n, 32), 0u); // BreakReason
    EXPECT_EQ(u32_at(write_lease_break_notification(key(1), 1, 0, 0, false), 4), 0u);
}

} // namespace
