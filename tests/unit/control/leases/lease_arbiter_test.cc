// The oplock and lease arbitration of smbx-control: grants, the breaks an open, a write,
// a sharing violation or an overwrite cause, the acknowledgements and their statuses
// (MS-SMB2 3.3.5.22), and break timeouts on a fake clock.
#include "control/leases/lease_arbiter.hh"

#include <gtest/gtest.h>

#include "common/ntstatus.hh"

using namespace smbx;
using namespace smbx::leases;
using namespace std::chrono_literals;

namespace {

constexpr uint8_t R = caching::read, H = caching::handle, W = caching::write;
constexpr uint8_t RH = R | H, RW = R | W, RWH = R | W | H;

guid g(uint8_t n) {
    guid x{};
    x[0] = n;
    return x;
}

class arbiter : public ::testing::Test {
protected:
    lease_arbiter a{35s};
    clock::time_point t0 = clock::time_point{} + 1000s;

    static owner_key lease(uint8_t client, uint8_t key) {
        return owner_key::of_lease(g(client), g(key));
    }
    open_request lease_open(open_ref o, owner_key k, uint8_t want, const char* file = "f") {
        open_request r;
        r.open = o;
        r.file = file;
        r.lease = k;
        r.requested = want;
        return r;
    }
    open_request oplock_open(open_ref o, oplock_level l, const char* file = "f") {
        open_request r;
        r.open = o;
        r.file = file;
        r.oplock = l;
        return r;
    }
};

TEST_F(arbiter, a_lone_open_gets_what_it_asks_for) {
    auto d = a.open(lease_open(1, lease(1, 1), RWH), t0);
    EXPECT_EQ(d.status, 0u);
    EXPECT_FALSE(d.wait);
    EXPECT_EQ(d.granted, RWH);
    EXPECT_EQ(d.oplock, oplock_level::lease);
    EXPECT_TRUE(d.breaks.empty());
    auto b = a.open(oplock_open(2, oplock_level::batch, "g"), t0);
    EXPECT_EQ(b.oplock, oplock_level::batch);
    // Handle or write caching without read caching is no lease state: none.
    auto h = a.open(lease_open(3, lease(1, 3), H | W, "h"), t0);
    EXPECT_EQ(h.granted, caching::none);
}

TEST_F(arbiter, a_v2_lease_answers_with_the_clients_epoch_moved_on) {
    auto r = lease_open(1, lease(1, 1), RH);
    r.lease_version = 2;
    r.epoch = 0x4711;
    auto d = a.open(r, t0);
    EXPECT_EQ(d.epoch, 0x4712);
    // An upgrade moves it again; the same state asked again does not.
    auto up = lease_open(2, lease(1, 1), RWH);
    up.lease_version = 2;
    EXPECT_EQ(a.open(up, t0).epoch, 0x4713);
    up.open = 3;
    EXPECT_EQ(a.open(up, t0).epoch, 0x4713);
}

TEST_F(arbiter, another_owners_open_breaks_write_caching_and_waits_for_the_acknowledgement) {
    auto k1 = lease(1, 1), k2 = lease(2, 2);
    ASSERT_EQ(a.open(lease_open(1, k1, RWH), t0).granted, RWH);
    auto d = a.open(lease_open(2, k2, RWH), t0);
    ASSERT_TRUE(d.wait) << "the second CREATE waits for the first client";
    ASSERT_EQ(d.breaks.size(), 1u);
    EXPECT_EQ(d.breaks[0].owner, k1);
    EXPECT_EQ(d.breaks[0].via, 1u);
    EXPECT_EQ(d.breaks[0].from, RWH);
    EXPECT_EQ(d.breaks[0].to, RH);
    EXPECT_TRUE(d.breaks[0].ack_required);
    EXPECT_TRUE(a.breaking(k1));
    // Asked again before the acknowledgement: still waits, no second notice.
    auto again = a.open(lease_open(2, k2, RWH), t0);
    EXPECT_TRUE(again.wait);
    EXPECT_TRUE(again.breaks.empty());

    auto ack = a.acknowledge_lease(k1, RH, t0 + 1s);
    EXPECT_EQ(ack.status, 0u);
    EXPECT_EQ(ack.state, RH);
    EXPECT_EQ(ack.released, std::vector<file_key>{"f"});
    auto retry = a.open(lease_open(2, k2, RWH), t0 + 1s);
    EXPECT_FALSE(retry.wait);
    EXPECT_EQ(retry.granted, RH) << "write caching needs the file to itself";
    EXPECT_EQ(a.state_of(k1), RH);
}

TEST_F(arbiter, opens_of_one_lease_share_it_and_never_break_each_other) {
    auto k = lease(1, 1);
    ASSERT_EQ(a.open(lease_open(1, k, R), t0).granted, R);
    auto d = a.open(lease_open(2, k, RWH), t0);
    EXPECT_TRUE(d.breaks.empty());
    EXPECT_EQ(d.granted, RWH) << "an upgrade: the lease alone on the file";
    auto less = a.open(lease_open(3, k, R), t0);
    EXPECT_EQ(less.granted, RWH) << "asking for less leaves the lease as it is";
    EXPECT_TRUE(a.close(1).empty());
    EXPECT_TRUE(a.close(2).empty());
    EXPECT_EQ(a.state_of(k), RWH);
    a.close(3);
    EXPECT_EQ(a.owners(), 0u) << "the lease goes with its last open";
}

TEST_F(arbiter, a_lease_key_of_another_file_is_refused) {
    auto k = lease(1, 1);
    a.open(lease_open(1, k, R, "a"), t0);
    EXPECT_EQ(a.open(lease_open(2, k, R, "b"), t0).status, status::invalid_parameter);
    // The same key of another client is another lease.
    EXPECT_EQ(a.open(lease_open(3, lease(2, 1), R, "b"), t0).status, 0u);
}

TEST_F(arbiter, an_open_asked_about_twice_is_refused_and_nothing_is_lost) {
    a.open(lease_open(1, lease(1, 1), R), t0);
    EXPECT_EQ(a.open(lease_open(1, lease(2, 2), R), t0).status, status::invalid_parameter);
    EXPECT_EQ(a.owners(), 1u);
    a.close(1);
    EXPECT_EQ(a.owners(), 0u) << "found by lease_ipc_fuzz: a reused id left an owner behind";
    // Id 0 is no open's (found by lease_ipc_fuzz: its owner would not survive a handover).
    EXPECT_EQ(a.open(oplock_open(0, oplock_level::batch), t0).status, status::invalid_parameter);
    EXPECT_EQ(a.owners(), 0u);
}

TEST_F(arbiter, directories_get_read_and_handle_caching_by_lease_only) {
    auto r = lease_open(1, lease(1, 1), RWH, "dir");
    r.directory = true;
    EXPECT_EQ(a.open(r, t0).granted, RH);
    auto o = oplock_open(2, oplock_level::batch, "dir2");
    o.directory = true;
    EXPECT_EQ(a.open(o, t0).oplock, oplock_level::none);
}

TEST_F(arbiter, a_batch_oplock_breaks_to_level_ii_for_a_second_open) {
    ASSERT_EQ(a.open(oplock_open(1, oplock_level::batch), t0).oplock, oplock_level::batch);
    auto d = a.open(oplock_open(2, oplock_level::batch), t0);
    ASSERT_TRUE(d.wait);
    ASSERT_EQ(d.breaks.size(), 1u);
    EXPECT_EQ(d.breaks[0].owner, owner_key::of_open(1));
    EXPECT_EQ(d.breaks[0].to, R);
    EXPECT_TRUE(d.breaks[0].ack_required);
    auto ack = a.acknowledge_oplock(1, oplock_level::level_ii, t0);
    EXPECT_EQ(ack.status, 0u);
    EXPECT_EQ(ack.released, std::vector<file_key>{"f"});
    auto retry = a.open(oplock_open(2, oplock_level::batch), t0);
    EXPECT_EQ(retry.oplock, oplock_level::level_ii) << "batch asked, level II shared";
    // A third open asking for nothing breaks neither level II (they coexist).
    auto third = a.open(oplock_open(3, oplock_level::none), t0);
    EXPECT_FALSE(third.wait);
    EXPECT_TRUE(third.breaks.empty());
}

TEST_F(arbiter, without_level2_oplocks_a_batch_oplock_breaks_to_none) {
    a.open(oplock_open(1, oplock_level::exclusive), t0);
    auto r = oplock_open(2, oplock_level::level_ii);
    r.level2_oplocks = false;
    auto d = a.open(r, t0);
    ASSERT_EQ(d.breaks.size(), 1u);
    EXPECT_EQ(d.breaks[0].to, caching::none);
    a.acknowledge_oplock(1, oplock_level::none, t0);
    EXPECT_EQ(a.open(r, t0).oplock, oplock_level::none);
}

TEST_F(arbiter, an_open_without_an_oplock_still_keeps_write_caching_from_others) {
    a.open(oplock_open(1, oplock_level::none), t0);
    EXPECT_EQ(a.open(oplock_open(2, oplock_level::batch), t0).oplock, oplock_level::level_ii);
    EXPECT_EQ(a.open(lease_open(3, lease(1, 1), RWH), t0).granted, R)
        << "no write caching beside other opens, no handle caching beside an oplock";
}

TEST_F(arbiter, a_write_breaks_others_read_caching) {
    a.open(lease_open(2, lease(1, 1), R), t0);
    a.open(lease_open(3, lease(2, 2), RH), t0);
    a.open(oplock_open(4, oplock_level::none), t0);
    auto breaks = a.write(4, "f", t0);
    ASSERT_EQ(breaks.size(), 2u);
    for (auto& b : breaks) {
        EXPECT_EQ(b.to, caching::none);
        // R alone is not acknowledged; RH keeps a handle cached: it is.
        EXPECT_EQ(b.ack_required, b.from == RH) << int(b.from);
    }
    EXPECT_EQ(a.state_of(lease(1, 1)), caching::none);
    EXPECT_TRUE(a.breaking(lease(2, 2)));
    EXPECT_TRUE(a.write(4, "f", t0).empty()) << "nothing left to break";
    // A level II oplock of another open breaks the same way (the writer's own too).
    a.open(oplock_open(5, oplock_level::level_ii, "g"), t0);
    a.open(oplock_open(6, oplock_level::none, "g"), t0);
    auto other = a.write(6, "g", t0);
    ASSERT_EQ(other.size(), 1u);
    EXPECT_EQ(other[0].via, 5u);
    EXPECT_EQ(a.state_of(owner_key::of_open(5)), caching::none);
}

TEST_F(arbiter, a_writers_own_level_ii_oplock_breaks_but_its_own_lease_does_not) {
    a.open(oplock_open(1, oplock_level::level_ii), t0);
    auto self = a.write(1, "f", t0);
    ASSERT_EQ(self.size(), 1u) << "Windows breaks the writer's level II too";
    EXPECT_EQ(self[0].via, 1u);
    EXPECT_EQ(self[0].to, caching::none);
    EXPECT_FALSE(self[0].ack_required);
    EXPECT_TRUE(a.write(1, "f", t0).empty());
    a.open(lease_open(2, lease(1, 1), R, "g"), t0);
    EXPECT_TRUE(a.write(2, "g", t0).empty()) << "a lease's writes are its own";
    a.open(oplock_open(3, oplock_level::batch, "h"), t0);
    EXPECT_TRUE(a.write(3, "h", t0).empty()) << "batch caches its writes";
}

TEST_F(arbiter, an_oplock_that_broke_another_gets_level_ii_at_most) {
    a.open(oplock_open(1, oplock_level::exclusive), t0);
    auto first = a.open(oplock_open(2, oplock_level::exclusive), t0);
    ASSERT_TRUE(first.wait);
    ASSERT_EQ(a.acknowledge_oplock(1, oplock_level::none, t0).status, 0u);
    a.close(1);
    auto again = oplock_open(2, oplock_level::exclusive);
    again.after_break = true;
    EXPECT_EQ(a.open(again, t0).oplock, oplock_level::level_ii) << "alone now, yet level II";
    // An acknowledgement of a level II broken to none (none is due): the Windows status.
    a.open(oplock_open(3, oplock_level::level_ii, "g"), t0);
    ASSERT_EQ(a.write(3, "g", t0).size(), 1u);
    EXPECT_EQ(a.acknowledge_oplock(3, oplock_level::none, t0).status,
              status::invalid_oplock_protocol);
}

// Rows of smbtorture smb2.lease.break and smb2.lease.oplock (what Windows grants).
TEST_F(arbiter, a_lease_beside_another_owner_is_not_upgraded) {
    a.open(lease_open(1, lease(1, 1), R), t0);
    EXPECT_EQ(a.open(lease_open(2, lease(2, 2), RW), t0).granted, R);
    auto up = a.open(lease_open(3, lease(1, 1), RWH), t0);
    EXPECT_EQ(up.granted, R) << "alone it would be upgraded; beside lease 2 it is not";
    EXPECT_TRUE(up.breaks.empty());
    a.open(lease_open(4, lease(3, 3), R, "g"), t0);
    EXPECT_EQ(a.open(lease_open(5, lease(3, 3), RH, "g"), t0).granted, RH) << "alone: upgraded";
}

TEST_F(arbiter, oplocks_and_leases_on_one_file_leave_each_other_less) {
    a.open(lease_open(1, lease(1, 1), RH), t0);
    auto o = a.open(oplock_open(2, oplock_level::batch), t0);
    EXPECT_EQ(o.oplock, oplock_level::none) << "no oplock beside a handle-caching lease";
    a.open(oplock_open(3, oplock_level::level_ii, "g"), t0);
    EXPECT_EQ(a.open(lease_open(4, lease(2, 2), RWH, "g"), t0).granted, R)
        << "no handle caching beside an oplock";
}

TEST_F(arbiter, an_overwrite_breaks_read_caching_too) {
    auto k1 = lease(1, 1);
    a.open(lease_open(1, k1, RH), t0);
    auto r = lease_open(2, lease(2, 2), RH);
    r.overwrite = true;
    auto d = a.open(r, t0);
    ASSERT_EQ(d.breaks.size(), 1u);
    EXPECT_EQ(d.breaks[0].to, caching::none) << "H alone is no lease state";
    EXPECT_TRUE(d.wait);
}

TEST_F(arbiter, a_sharing_violation_breaks_handle_caching_first) {
    auto k1 = lease(1, 1);
    a.open(lease_open(1, k1, RH), t0);
    std::vector<break_notice> breaks;
    EXPECT_TRUE(a.break_handle_caching(2, "f", t0, breaks));
    ASSERT_EQ(breaks.size(), 1u);
    EXPECT_EQ(breaks[0].from, RH);
    EXPECT_EQ(breaks[0].to, R);
    auto ack = a.acknowledge_lease(k1, R, t0);
    EXPECT_EQ(ack.released, std::vector<file_key>{"f"});
    breaks.clear();
    EXPECT_FALSE(a.break_handle_caching(2, "f", t0, breaks)) << "nothing more to wait for";
    EXPECT_TRUE(breaks.empty());
}

TEST_F(arbiter, acknowledgement_errors_have_the_statuses_of_3_3_5_22) {
    auto k1 = lease(1, 1);
    EXPECT_EQ(a.acknowledge_lease(k1, R, t0).status, status::object_name_not_found);
    a.open(lease_open(1, k1, RWH), t0);
    EXPECT_EQ(a.acknowledge_lease(k1, R, t0).status, status::unsuccessful) << "not breaking";
    a.open(lease_open(2, lease(2, 2), R), t0); // RWH -> RH
    EXPECT_EQ(a.acknowledge_lease(k1, RWH, t0).status, status::request_not_accepted);
    EXPECT_TRUE(a.breaking(k1)) << "a refused acknowledgement leaves the break pending";
    EXPECT_EQ(a.acknowledge_lease(k1, R, t0).status, 0u) << "less than broken to is fine";
    EXPECT_EQ(a.state_of(k1), R);

    a.open(oplock_open(5, oplock_level::batch, "o"), t0);
    EXPECT_EQ(a.acknowledge_oplock(5, oplock_level::none, t0).status, status::invalid_device_state);
    EXPECT_EQ(a.acknowledge_oplock(99, oplock_level::none, t0).status, status::file_closed);
    a.open(oplock_open(6, oplock_level::none, "o"), t0); // batch -> level II
    auto bad = a.acknowledge_oplock(5, oplock_level::batch, t0);
    EXPECT_EQ(bad.status, status::invalid_oplock_protocol);
    EXPECT_EQ(bad.state, caching::none) << "acknowledged too high: the oplock is gone";
}

TEST_F(arbiter, an_unanswered_break_times_out_to_none_and_releases_the_file) {
    auto k1 = lease(1, 1);
    a.open(lease_open(1, k1, RWH), t0);
    ASSERT_TRUE(a.open(lease_open(2, lease(2, 2), RH), t0).wait);
    ASSERT_TRUE(a.next_deadline());
    EXPECT_EQ(*a.next_deadline(), t0 + 35s);
    EXPECT_TRUE(a.expire(t0 + 34s).empty());
    EXPECT_TRUE(a.breaking(k1));
    EXPECT_EQ(a.expire(t0 + 35s), std::vector<file_key>{"f"});
    EXPECT_FALSE(a.breaking(k1));
    EXPECT_EQ(a.state_of(k1), caching::none);
    EXPECT_FALSE(a.next_deadline());
    EXPECT_EQ(a.open(lease_open(2, lease(2, 2), RH), t0 + 35s).granted, RH);
}

TEST_F(arbiter, closing_the_breaking_open_releases_the_file) {
    a.open(oplock_open(1, oplock_level::batch), t0);
    ASSERT_TRUE(a.open(oplock_open(2, oplock_level::none), t0).wait);
    EXPECT_EQ(a.close(1), std::vector<file_key>{"f"});
    auto d = a.open(oplock_open(2, oplock_level::batch), t0);
    EXPECT_FALSE(d.wait);
    EXPECT_EQ(d.oplock, oplock_level::batch) << "alone on the file now";
}

TEST_F(arbiter, a_further_break_waits_for_the_first_acknowledgement) {
    auto k1 = lease(1, 1);
    a.open(lease_open(1, k1, RWH), t0);
    ASSERT_EQ(a.open(lease_open(2, lease(2, 2), R), t0).breaks.size(), 1u); // to RH
    auto over = lease_open(3, lease(3, 3), R);
    over.overwrite = true;
    auto d = a.open(over, t0);
    EXPECT_TRUE(d.breaks.empty()) << "one break at a time (3.3.4.7)";
    EXPECT_TRUE(d.wait);
    auto ack = a.acknowledge_lease(k1, RH, t0);
    ASSERT_EQ(ack.breaks.size(), 1u) << "the next break goes out with the acknowledgement";
    EXPECT_EQ(ack.breaks[0].from, RH);
    EXPECT_EQ(ack.breaks[0].to, caching::none);
    EXPECT_TRUE(ack.released.empty()) << "still waiting for the second acknowledgement";
    EXPECT_EQ(a.acknowledge_lease(k1, caching::none, t0).released, std::vector<file_key>{"f"});
}

TEST_F(arbiter, a_lease_opened_again_while_breaking_says_break_in_progress) {
    auto k1 = lease(1, 1);
    a.open(lease_open(1, k1, RWH), t0);
    a.open(lease_open(2, lease(2, 2), R), t0);
    auto d = a.open(lease_open(3, k1, RWH), t0);
    EXPECT_FALSE(d.wait) << "its own break does not hold it up";
    EXPECT_TRUE(d.break_in_progress);
    EXPECT_EQ(d.granted, RWH) << "the state being broken, as it still is";
}

TEST_F(arbiter, a_snapshot_restores_grants_breaks_and_deadlines) {
    a.open(lease_open(1, lease(1, 1), RWH), t0);
    a.open(oplock_open(2, oplock_level::batch, "g"), t0);
    auto d = a.open(lease_open(3, lease(2, 2), RH), t0); // breaks lease 1 to RH
    ASSERT_TRUE(d.wait);
    bytes snap = a.snapshot(t0 + 10s);

    auto t1 = t0 + 500s; // the new image's clock
    auto b = lease_arbiter::restore(snap, 35s, t1);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->owners(), a.owners());
    EXPECT_EQ(b->state_of(lease(1, 1)), RWH);
    EXPECT_TRUE(b->breaking(lease(1, 1)));
    EXPECT_EQ(b->state_of(owner_key::of_open(2)), RWH);
    // 25 s of the break's 35 were left at the snapshot.
    EXPECT_TRUE(b->expire(t1 + 24s).empty());
    auto c = *lease_arbiter::restore(snap, 35s, t1);
    EXPECT_EQ(c.expire(t1 + 26s), std::vector<file_key>{"f"});
    // The restored arbiter goes on: the acknowledgement, then a conflicting open breaks
    // the oplock it carried over.
    EXPECT_EQ(b->acknowledge_lease(lease(1, 1), RH, t1).status, 0u);
    EXPECT_EQ(b->open(lease_open(3, lease(2, 2), RH), t1).granted, RH);
    auto o = b->open(oplock_open(4, oplock_level::none, "g"), t1);
    ASSERT_EQ(o.breaks.size(), 1u);
    EXPECT_EQ(o.breaks[0].via, 2u);
}

TEST_F(arbiter, a_damaged_snapshot_is_refused_whole) {
    a.open(lease_open(1, lease(1, 1), RWH), t0);
    a.open(oplock_open(2, oplock_level::batch, "g"), t0);
    bytes snap = a.snapshot(t0);
    for (size_t cut = 0; cut < snap.size(); ++cut) {
        EXPECT_FALSE(lease_arbiter::restore(byte_span(snap.data(), cut), 35s, t0)) << cut;
    }
    bytes longer = snap;
    longer.push_back(0);
    EXPECT_FALSE(lease_arbiter::restore(longer, 35s, t0));
    // Two owners made of one's record, the second under another lease key: refused while
    // they share the open, taken once the copy has an open of its own.
    lease_arbiter one(35s);
    one.open(lease_open(1, lease(1, 1), R), t0);
    bytes s1 = one.snapshot(t0);
    bytes record(s1.begin() + 8, s1.end());
    record[16] ^= 1; // LeaseKey follows the 16-byte ClientGuid
    bytes two(s1);
    two[4] = 2; // the owner count
    two.insert(two.end(), record.begin(), record.end());
    EXPECT_FALSE(lease_arbiter::restore(two, 35s, t0)) << "one open in two owners";
    two[two.size() - 8] = 9; // the copy's one open, the record's last field: 9
    auto both = lease_arbiter::restore(two, 35s, t0);
    ASSERT_TRUE(both);
    EXPECT_EQ(both->owners(), 2u);
    EXPECT_TRUE(lease_arbiter::restore(lease_arbiter(35s).snapshot(t0), 35s, t0));
}

} // namespace
