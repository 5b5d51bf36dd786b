// The arbiter behind the control ring: lease_service takes the data plane's messages
// and answers with replies under their ids, breaks and releases under id 0.
#include "control/leases/lease_service.hh"

#include <gtest/gtest.h>

#include "common/ntstatus.hh"

using namespace smbx;
using namespace smbx::leases;
using namespace std::chrono_literals;

namespace {

constexpr uint8_t RWH = caching::all, RH = caching::read | caching::handle;

ipc::lease_open_request lease_request(uint64_t open, uint8_t client, uint8_t want) {
    ipc::lease_open_request m;
    m.open = open;
    m.file = "f";
    m.has_lease = true;
    m.client[0] = client;
    m.lease_key[0] = client;
    m.requested = want;
    return m;
}

std::vector<ipc::msg_type> types(const std::vector<bytes>& msgs) {
    std::vector<ipc::msg_type> t;
    for (auto& m : msgs) {
        t.push_back(ipc::decode_header(m)->type);
    }
    return t;
}

TEST(lease_service, a_conflicting_open_waits_for_the_break_and_goes_on_after_the_ack) {
    lease_service svc(35s);
    auto t0 = clock::time_point{} + 100s;
    auto out = svc.handle(ipc::encode_fields(1, lease_request(10, 1, RWH)), t0);
    ASSERT_EQ(types(out), std::vector{ipc::msg_type::lease_open_reply});
    auto first = ipc::decode_fields<ipc::lease_open_reply>(out[0]);
    EXPECT_EQ(ipc::decode_header(out[0])->id, 1u) << "the reply has the request's id";
    EXPECT_EQ(first->granted, RWH);
    EXPECT_EQ(first->oplock, 0xFF);

    out = svc.handle(ipc::encode_fields(2, lease_request(20, 2, RWH)), t0);
    ASSERT_EQ(types(out),
              (std::vector{ipc::msg_type::lease_break, ipc::msg_type::lease_open_reply}))
        << "the break goes out before the CREATE is answered";
    auto brk = ipc::decode_fields<ipc::lease_break>(out[0]);
    EXPECT_TRUE(brk->lease);
    EXPECT_EQ(brk->via, 10u);
    EXPECT_EQ(brk->from, RWH);
    EXPECT_EQ(brk->to, RH);
    EXPECT_TRUE(brk->ack_required);
    EXPECT_TRUE(ipc::decode_fields<ipc::lease_open_reply>(out[1])->wait);

    ipc::lease_ack_request ack;
    ack.lease = true;
    ack.client[0] = 1;
    ack.lease_key[0] = 1;
    ack.state = RH;
    out = svc.handle(ipc::encode_fields(3, ack), t0 + 1s);
    ASSERT_EQ(types(out),
              (std::vector{ipc::msg_type::lease_ack_reply, ipc::msg_type::lease_released}));
    auto ack_reply = ipc::decode_fields<ipc::lease_ack_reply>(out[0]);
    EXPECT_EQ(ack_reply->status, 0u);
    EXPECT_EQ(ack_reply->state, RH);
    EXPECT_EQ(ipc::decode_fields<ipc::lease_released>(out[1])->file, "f");

    out = svc.handle(ipc::encode_fields(4, lease_request(20, 2, RWH)), t0 + 1s);
    EXPECT_EQ(ipc::decode_fields<ipc::lease_open_reply>(out[0])->granted, RH);
}

TEST(lease_service, an_unanswered_break_expires_into_a_release) {
    lease_service svc(35s);
    auto t0 = clock::time_point{} + 100s;
    svc.handle(ipc::encode_fields(1, lease_request(10, 1, RWH)), t0);
    svc.handle(ipc::encode_fields(2, lease_request(20, 2, RWH)), t0);
    ASSERT_TRUE(svc.next_deadline());
    EXPECT_TRUE(svc.expire(t0 + 10s).empty());
    auto out = svc.expire(*svc.next_deadline());
    ASSERT_EQ(types(out), std::vector{ipc::msg_type::lease_released});
}

TEST(lease_service, close_write_and_bad_messages) {
    lease_service svc(35s);
    auto t0 = clock::time_point{} + 100s;
    svc.handle(ipc::encode_fields(1, lease_request(10, 1, caching::read)), t0);
    auto out = svc.handle(ipc::encode_fields(0, ipc::lease_write{20, "f"}), t0);
    ASSERT_EQ(types(out), std::vector{ipc::msg_type::lease_break});
    EXPECT_FALSE(ipc::decode_fields<ipc::lease_break>(out[0])->ack_required) << "R to none";
    EXPECT_TRUE(svc.handle(ipc::encode_fields(0, ipc::lease_close{10}), t0).empty());
    EXPECT_EQ(svc.arbiter().owners(), 0u);

    bytes cut = ipc::encode_fields(5, lease_request(30, 3, RWH));
    cut.pop_back();
    EXPECT_TRUE(svc.handle(cut, t0).empty()) << "nothing answers what does not decode";
    EXPECT_TRUE(svc.handle(bytes{1, 2, 3}, t0).empty());
    EXPECT_TRUE(lease_service::handles(ipc::msg_type::lease_close));
    EXPECT_FALSE(lease_service::handles(ipc::msg_type::auth_request));

    svc.handle(ipc::encode_fields(6, lease_request(40, 4, RWH)), t0);
    svc.reset();
    EXPECT_EQ(svc.arbiter().owners(), 0u) << "a new data plane: the old opens are gone";
}

} // namespace
