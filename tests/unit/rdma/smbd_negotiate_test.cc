#include "common/ntstatus.hh"
#include "tests/unit/rdma/smbd_harness.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::rdma;
using namespace smbx::rdma::testing;
using namespace std::chrono_literals;

TEST(smbd_negotiate, accepts_version_1_and_settles_the_sizes) {
    harness h;
    // The client prefers to send 1024, can receive 4096 and reassemble 256 KiB; it asks
    // for 10 credits.
    auto rsp = h.negotiate(negotiate_request_bytes(10, 1024, 4096, 262144));
    EXPECT_EQ(rsp.status, status::success);
    EXPECT_EQ(rsp.negotiated_version, smbd_version_1);
    EXPECT_EQ(rsp.min_version, smbd_version_1);
    EXPECT_EQ(rsp.max_version, smbd_version_1);
    EXPECT_EQ(rsp.credits_requested, h.settings.send_credit_target);
    EXPECT_EQ(rsp.credits_granted, 10);           // the receives posted for it
    EXPECT_EQ(rsp.preferred_send_size, 1364u);    // ours, below its MaxReceiveSize
    EXPECT_EQ(rsp.max_receive_size, 1024u);       // its PreferredSendSize, below ours
    EXPECT_EQ(rsp.max_fragmented_size, 1048576u); // what we reassemble
    EXPECT_EQ(rsp.max_read_write_size, h.settings.max_read_write_size);
    EXPECT_EQ(h.conn->current_state(), smbd_connection::state::established);
    EXPECT_EQ(h.port.posted_receives, 10u);
    EXPECT_EQ(h.conn->receive_credits(), 10);
    EXPECT_EQ(h.conn->send_credits(), 0); // the request grants none
    EXPECT_EQ(h.conn->negotiated().max_fragmented_send_size, 262144u);
    EXPECT_EQ(h.port.disconnect_calls, 0);
}

TEST(smbd_negotiate, send_size_follows_a_smaller_client_receive_size) {
    harness h;
    auto rsp = h.negotiate(negotiate_request_bytes(255, 1364, 512, 131072));
    EXPECT_EQ(rsp.preferred_send_size, 512u);
    EXPECT_EQ(h.conn->negotiated().max_send_size, 512u);
    EXPECT_EQ(rsp.credits_granted, 255); // capped at ReceiveCreditMax
}

TEST(smbd_negotiate, receive_size_never_below_128) {
    harness h;
    auto rsp = h.negotiate(negotiate_request_bytes(4, 64, 1364, 131072));
    EXPECT_EQ(rsp.max_receive_size, 128u);
}

TEST(smbd_negotiate, credits_capped_by_receive_credit_max) {
    harness h;
    h.settings.receive_credit_max = 16;
    auto rsp = h.negotiate(negotiate_request_bytes(200));
    EXPECT_EQ(rsp.credits_granted, 16);
    EXPECT_EQ(h.port.posted_receives, 16u);
}

TEST(smbd_negotiate, other_versions_get_status_not_supported_then_disconnect) {
    harness h;
    h.start();
    bytes req = negotiate_request_bytes(10, 1364, 1364, 1048576, 0x0200, 0x0300);
    h.port.deliver(*h.conn, req);
    ASSERT_EQ(h.port.sent.size(), 1u);
    auto rsp = parse_negotiate_response(h.port.sent[0].data);
    ASSERT_TRUE(rsp);
    EXPECT_EQ(rsp->status, status::not_supported);
    // 3.1.5.3: every field but MinVersion, MaxVersion and Status is zero.
    EXPECT_EQ(rsp->min_version, smbd_version_1);
    EXPECT_EQ(rsp->max_version, smbd_version_1);
    EXPECT_EQ(rsp->negotiated_version, 0);
    EXPECT_EQ(rsp->credits_granted, 0);
    EXPECT_EQ(rsp->credits_requested, 0);
    EXPECT_EQ(rsp->max_receive_size, 0u);
    EXPECT_EQ(h.conn->current_state(), smbd_connection::state::refusing);
    EXPECT_EQ(h.port.disconnect_calls, 0); // the refusal goes out first
    h.port.complete_sends(*h.conn);
    EXPECT_EQ(h.port.disconnect_calls, 1);
    h.port.flush(*h.conn);
    EXPECT_EQ(h.closed, 1);
}

TEST(smbd_negotiate, a_range_that_includes_version_1_is_accepted) {
    harness h;
    auto rsp = h.negotiate(negotiate_request_bytes(10, 1364, 1364, 1048576, 0x0100, 0x0200));
    EXPECT_EQ(rsp.status, status::success);
    EXPECT_EQ(rsp.negotiated_version, smbd_version_1);
}

namespace {
// A request the spec says to answer by terminating, without a response (3.1.5.6).
void expect_dropped(bytes request) {
    harness h;
    h.start();
    h.port.deliver(*h.conn, request);
    EXPECT_TRUE(h.port.sent.empty());
    EXPECT_EQ(h.port.disconnect_calls, 1);
    EXPECT_EQ(h.conn->current_state(), smbd_connection::state::closed);
    EXPECT_EQ(h.closed, 1);
}
} // namespace

TEST(smbd_negotiate, zero_credits_requested_disconnects) {
    expect_dropped(negotiate_request_bytes(0));
}

TEST(smbd_negotiate, max_receive_size_below_128_disconnects) {
    expect_dropped(negotiate_request_bytes(10, 1364, 127));
}

TEST(smbd_negotiate, max_fragmented_size_below_128_kib_disconnects) {
    expect_dropped(negotiate_request_bytes(10, 1364, 1364, 131071));
}

TEST(smbd_negotiate, short_request_disconnects) {
    bytes req = negotiate_request_bytes();
    req.pop_back();
    expect_dropped(req);
}

TEST(smbd_negotiate, no_receive_buffers_means_insufficient_resources) {
    harness h;
    h.start();
    h.port.receive_buffers = 0; // nothing left to post after the negotiate receive
    bytes req = negotiate_request_bytes();
    h.port.deliver(*h.conn, req);
    ASSERT_EQ(h.port.sent.size(), 1u);
    auto rsp = parse_negotiate_response(h.port.sent[0].data);
    ASSERT_TRUE(rsp);
    EXPECT_EQ(rsp->status, status::insufficient_resources);
    h.port.complete_sends(*h.conn);
    h.port.flush(*h.conn);
    EXPECT_EQ(h.closed, 1);
}

TEST(smbd_negotiate, no_request_within_the_negotiation_timer_disconnects) {
    harness h;
    h.start();
    h.poll_at(4999ms);
    EXPECT_EQ(h.port.disconnect_calls, 0);
    h.poll_at(5000ms);
    EXPECT_EQ(h.port.disconnect_calls, 1);
    EXPECT_EQ(h.closed, 0); // the negotiate receive is still posted
    h.port.flush(*h.conn);
    EXPECT_EQ(h.closed, 1);
    EXPECT_EQ(h.port.posted_receives, 0u);
}

TEST(smbd_negotiate, sends_before_negotiation_are_refused) {
    harness h;
    h.start();
    EXPECT_EQ(h.conn->send_message(bytes(10, 1)), smbd_connection::send_result::not_connected);
    EXPECT_TRUE(h.port.sent.empty());
}
