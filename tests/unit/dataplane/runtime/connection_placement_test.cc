// Connection placement: round robin over a backend's instances, the accepting one
// among them; the backend's hook moves a connection, and one it could not move stays
// with the instance that accepted it.
#include "dataplane/runtime/connection_placement.hh"

#include <gtest/gtest.h>
#include <map>

using namespace smbx;

namespace {

struct member {
    int index = 0;
};

} // namespace

TEST(connection_placement, without_members_the_acceptor_keeps_every_connection) {
    connection_placement<member> placement;
    member self{0};
    int hand_overs = 0;
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(placement.place(&self, [&](member*) { return ++hand_overs, true; }), &self);
    }
    EXPECT_EQ(hand_overs, 0) << "nothing to hand over to";
}

TEST(connection_placement, deals_in_turn_and_calls_the_hook_only_for_other_members) {
    member m[3] = {{0}, {1}, {2}};
    connection_placement<member> placement;
    placement.set_members({&m[0], &m[1], &m[2]});
    std::map<int, int> placed;
    std::vector<int> handed_to;
    for (int i = 0; i < 9; ++i) {
        member* got = placement.place(&m[0], [&](member* to) {
            handed_to.push_back(to->index);
            return true;
        });
        ++placed[got->index];
    }
    EXPECT_EQ(placed[0], 3);
    EXPECT_EQ(placed[1], 3);
    EXPECT_EQ(placed[2], 3);
    EXPECT_EQ(handed_to, (std::vector<int>{1, 2, 1, 2, 1, 2}))
        << "the acceptor's own turn needs no hand-over";
}

TEST(connection_placement, a_connection_the_hook_cannot_move_stays_with_the_acceptor) {
    member m[2] = {{0}, {1}};
    connection_placement<member> placement;
    placement.set_members({&m[0], &m[1]});
    EXPECT_EQ(placement.place(&m[0], [](member*) { return true; }), &m[0]);
    EXPECT_EQ(placement.place(&m[0], [](member*) { return false; }), &m[0])
        << "e.g. rdma_migrate_id failed";
    // The turn moved on all the same: the next connection is the acceptor's again.
    int calls = 0;
    EXPECT_EQ(placement.place(&m[0], [&](member*) { return ++calls, true; }), &m[0]);
    EXPECT_EQ(calls, 0);
    EXPECT_EQ(placement.place(&m[0], [](member*) { return true; }), &m[1]);
}
