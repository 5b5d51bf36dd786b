#include "tests/unit/rdma/smbd_harness.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::rdma;
using namespace smbx::rdma::testing;
using namespace std::chrono_literals;
using state = smbd_connection::state;

namespace {

// Every buffer is back and the upper layer was told exactly once.
void expect_torn_down(harness& h) {
    EXPECT_GE(h.port.disconnect_calls, 1);
    h.port.flush(*h.conn);
    EXPECT_EQ(h.conn->current_state(), state::closed);
    EXPECT_EQ(h.closed, 1);
    EXPECT_EQ(h.port.posted_receives, 0u);
    EXPECT_EQ(h.port.sends_in_flight(), 0u);
    EXPECT_TRUE(h.port.rdma_queue.empty());
}

} // namespace

TEST(smbd_connection, delivers_a_message_and_reposts_its_receive) {
    harness h;
    h.negotiate(negotiate_request_bytes(8));
    bytes smb2 = pattern(100);
    h.client_sends(smb2, 8, 0, 0, 8); // it still wants 8 credits
    ASSERT_EQ(h.messages.size(), 1u);
    EXPECT_EQ(h.messages[0], smb2);
    EXPECT_EQ(h.conn->send_credits(), 8);
    EXPECT_EQ(h.port.posted_receives, 8u); // reposted
    EXPECT_EQ(h.port.sent.size(), 1u);     // no reply needed yet: the client holds 7 of 8
}

TEST(smbd_connection, response_carries_the_grant_for_the_reposted_receive) {
    harness h;
    h.negotiate(negotiate_request_bytes(8));
    h.client_sends(pattern(100), 8, 0, 0, 8);
    ASSERT_EQ(h.conn->send_message(pattern(64)), smbd_connection::send_result::queued);
    auto sent = h.sent_data();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].header.credits_granted, 1);
    EXPECT_EQ(sent[0].header.credits_requested, h.settings.send_credit_target);
    EXPECT_EQ(sent[0].header.flags, 0);
    EXPECT_EQ(sent[0].header.data_offset, 24u);
    EXPECT_EQ(bytes(sent[0].payload.begin(), sent[0].payload.end()), pattern(64));
    EXPECT_EQ(h.conn->send_credits(), 7);
}

TEST(smbd_connection, nothing_is_sent_beyond_the_send_credits) {
    harness h;
    h.negotiate(negotiate_request_bytes(255));
    h.client_sends(pattern(10), 3);
    for (int i = 0; i < 10; ++i) {
        h.conn->send_message(pattern(50, uint8_t(i)));
    }
    // Three credits: two messages, and the third only because it grants a credit.
    auto sent = h.sent_data();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(h.conn->send_credits(), 0);
    EXPECT_EQ(h.conn->queued_messages(), 7u);
    h.port.complete_sends(*h.conn);
    h.poll_at(1s);
    EXPECT_EQ(h.port.sent.size(), 4u); // completions free slots, not credits
    // The client grants 4 more: four more messages go.
    h.client_sends({}, 4);
    EXPECT_EQ(h.port.sent.size(), 8u);
}

TEST(smbd_connection, last_credit_is_never_spent_on_a_message_granting_none) {
    harness h;
    h.port.receive_buffers = 4; // no spare receive: nothing new to grant once all granted
    h.negotiate(negotiate_request_bytes(4));
    ASSERT_EQ(h.port.posted_receives, 4u);
    h.client_sends(pattern(10), 2); // uses one receive, reposted: one credit to grant
    h.conn->send_message(pattern(20, 1));
    h.conn->send_message(pattern(20, 2));
    h.conn->send_message(pattern(20, 3));
    auto sent = h.sent_data();
    ASSERT_EQ(sent.size(), 1u); // the second would spend the last credit granting nothing
    EXPECT_EQ(sent[0].header.credits_granted, 1);
    EXPECT_EQ(h.conn->send_credits(), 1);
    h.poll_at(1s);
    EXPECT_EQ(h.port.sent.size(), 2u);

    // The client's next message uses a receive; its repost is a credit to grant, so the
    // last send credit may go, carrying it.
    h.client_sends({}, 0);
    sent = h.sent_data();
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[1].header.credits_granted, 1);
    EXPECT_EQ(h.conn->send_credits(), 0);
    EXPECT_EQ(h.conn->queued_messages(), 1u);
}

TEST(smbd_connection, last_credit_posts_an_extra_receive_to_grant_when_it_can) {
    harness h;
    h.port.receive_buffers = 5; // one spare beyond the client's 4
    h.negotiate(negotiate_request_bytes(4));
    h.client_sends(pattern(10), 2, 0, 0, 4); // its receive reposted: one credit to grant
    h.conn->send_message(pattern(20, 1));
    h.conn->send_message(pattern(20, 2));
    auto sent = h.sent_data();
    // The first message grants the reposted receive; for the second, on the last
    // credit, 3.1.5.9 posts the spare receive so that it too grants one.
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0].header.credits_granted, 1);
    EXPECT_EQ(sent[1].header.credits_granted, 1);
    EXPECT_EQ(h.port.posted_receives, 5u);
    EXPECT_EQ(h.conn->send_credits(), 0);
}

TEST(smbd_connection, credit_starvation_queues_then_times_out) {
    harness h;
    h.negotiate(negotiate_request_bytes(255));
    h.client_sends(pattern(10), 0); // the client never grants
    for (int i = 0; i < 5; ++i) {
        h.conn->send_message(pattern(2000, uint8_t(i)));
    }
    h.poll_at(60s);
    EXPECT_EQ(h.port.sent.size(), 1u); // only the negotiate response
    EXPECT_EQ(h.conn->queued_messages(), 5u);
    h.poll_at(120s); // idle timer: keepalive wanted, but no credit to send it
    EXPECT_EQ(h.port.sent.size(), 1u);
    EXPECT_EQ(h.port.disconnect_calls, 0);
    h.poll_at(125s);
    EXPECT_EQ(h.port.disconnect_calls, 1);
    expect_torn_down(h);
}

TEST(smbd_connection, outgoing_message_is_fragmented_in_order) {
    harness h;
    h.negotiate(negotiate_request_bytes(255, 1364, 1024));
    h.client_sends({}, 100);
    bytes a = pattern(5000, 3), b = pattern(1500, 9);
    h.conn->send_message(a);
    h.conn->send_message(b);
    auto sent = h.sent_data();
    // 1024 - 24 = 1000 payload bytes per fragment: 5 for a, 2 for b.
    ASSERT_EQ(sent.size(), 7u);
    bytes got;
    uint32_t expect_remaining = 5000;
    for (size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(sent[i].payload.size(), 1000u);
        expect_remaining -= 1000;
        EXPECT_EQ(sent[i].header.remaining_data_length, expect_remaining);
        EXPECT_LE(h.port.sent[1 + i].data.size(), 1024u);
        got.insert(got.end(), sent[i].payload.begin(), sent[i].payload.end());
    }
    EXPECT_EQ(got, a);
    EXPECT_EQ(sent[5].header.remaining_data_length, 500u);
    EXPECT_EQ(sent[6].header.remaining_data_length, 0u);
    got.assign(sent[5].payload.begin(), sent[5].payload.end());
    got.insert(got.end(), sent[6].payload.begin(), sent[6].payload.end());
    EXPECT_EQ(got, b);
}

TEST(smbd_connection, fragments_of_one_message_wait_together_for_credits) {
    harness h;
    h.negotiate(negotiate_request_bytes(255, 1364, 1024));
    h.client_sends({}, 3);
    h.conn->send_message(pattern(2500, 1)); // three fragments
    h.conn->send_message(pattern(100, 2));
    auto sent = h.sent_data();
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[2].header.remaining_data_length, 0u);
    h.client_sends({}, 1);
    sent = h.sent_data();
    ASSERT_EQ(sent.size(), 4u);
    EXPECT_EQ(bytes(sent[3].payload.begin(), sent[3].payload.end()), pattern(100, 2));
}

TEST(smbd_connection, message_above_max_fragmented_send_size_is_refused) {
    harness h;
    h.negotiate(negotiate_request_bytes(255, 1364, 1364, 131072));
    EXPECT_EQ(h.conn->send_message(bytes(131073, 0)), smbd_connection::send_result::too_large);
    EXPECT_EQ(h.conn->send_message(bytes(131072, 0)), smbd_connection::send_result::queued);
}

TEST(smbd_connection, invalidate_token_rides_on_the_last_fragment) {
    harness h;
    h.negotiate(negotiate_request_bytes(255, 1364, 1024));
    h.client_sends({}, 10);
    h.conn->send_message(pattern(2500), 0x1234);
    ASSERT_EQ(h.port.sent.size(), 4u);
    EXPECT_FALSE(h.port.sent[1].invalidate_token);
    EXPECT_FALSE(h.port.sent[2].invalidate_token);
    EXPECT_EQ(h.port.sent[3].invalidate_token, 0x1234u);
}

TEST(smbd_connection, incoming_fragments_are_reassembled) {
    harness h;
    h.negotiate();
    bytes whole = pattern(3000, 5);
    h.client_sends(byte_span(whole).subspan(0, 1200), 10, 1800);
    h.client_sends(byte_span(whole).subspan(1200, 1200), 0, 600);
    EXPECT_TRUE(h.messages.empty());
    h.client_sends(byte_span(whole).subspan(2400, 600), 0, 0);
    ASSERT_EQ(h.messages.size(), 1u);
    EXPECT_EQ(h.messages[0], whole);
}

TEST(smbd_connection, empty_message_between_fragments_does_not_disturb_them) {
    harness h;
    h.negotiate();
    bytes whole = pattern(2000, 5);
    h.client_sends(byte_span(whole).subspan(0, 1000), 10, 1000);
    h.client_sends({}, 5); // credits only
    h.client_sends(byte_span(whole).subspan(1000, 1000), 0, 0);
    ASSERT_EQ(h.messages.size(), 1u);
    EXPECT_EQ(h.messages[0], whole);
    EXPECT_EQ(h.conn->send_credits(), 15);
}

TEST(smbd_connection, inconsistent_remaining_length_disconnects) {
    harness h;
    h.negotiate();
    h.client_sends(pattern(1000), 10, 1000);
    h.client_sends(pattern(1000), 0, 500); // 1000 + 500 != 1000 left
    EXPECT_TRUE(h.messages.empty());
    expect_torn_down(h);
}

TEST(smbd_connection, message_above_max_fragmented_size_disconnects) {
    harness h;
    h.settings.max_fragmented_recv_size = 200000;
    h.negotiate();
    h.client_sends(pattern(1000), 10, 199001);
    EXPECT_TRUE(h.messages.empty());
    expect_torn_down(h);
}

TEST(smbd_connection, message_above_max_receive_size_disconnects) {
    harness h;
    h.negotiate(negotiate_request_bytes(255, 1024)); // we receive at most 1024
    bytes big = data_bytes(pattern(1024 - 24 + 1), 1);
    h.port.deliver(*h.conn, big);
    EXPECT_TRUE(h.messages.empty());
    expect_torn_down(h);
}

TEST(smbd_connection, malformed_messages_disconnect) {
    for (int variant = 0; variant < 3; ++variant) {
        harness h;
        h.negotiate();
        bytes m = data_bytes(pattern(16), 1);
        if (variant == 0) {
            m.resize(19);
        } else if (variant == 1) {
            m[12] = 28; // DataOffset 28: not 8-byte aligned
        } else {
            m[0] = m[1] = 0; // CreditsRequested 0
        }
        h.port.deliver(*h.conn, m);
        EXPECT_TRUE(h.messages.empty()) << variant;
        expect_torn_down(h);
    }
}

TEST(smbd_connection, keepalive_request_is_answered_without_the_flag) {
    harness h;
    h.negotiate(negotiate_request_bytes(255));
    h.client_sends({}, 5, 0, smbd_flag_response_requested);
    EXPECT_EQ(h.port.sent.size(), 1u); // deferred to the end of the batch
    h.poll_at(1s);
    auto sent = h.sent_data();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].header.flags, 0);
    EXPECT_EQ(sent[0].header.data_length, 0u);
    EXPECT_EQ(h.port.sent[1].data.size(), data_transfer_min_size);
    h.poll_at(2s);
    EXPECT_EQ(h.port.sent.size(), 2u); // answered once
}

TEST(smbd_connection, keepalive_answer_rides_on_a_queued_response) {
    harness h;
    h.negotiate(negotiate_request_bytes(255));
    h.client_sends(pattern(30), 5, 0, smbd_flag_response_requested);
    h.conn->send_message(pattern(40));
    h.poll_at(1s);
    auto sent = h.sent_data();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].payload.size(), 40u);
}

TEST(smbd_connection, idle_connection_sends_keepalive_and_survives_an_answer) {
    harness h;
    h.negotiate(negotiate_request_bytes(255));
    h.client_sends({}, 5);
    h.poll_at(119s);
    EXPECT_EQ(h.port.sent.size(), 1u);
    h.poll_at(120s);
    auto sent = h.sent_data();
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].header.flags, smbd_flag_response_requested);
    h.client_sends({}, 1); // the answer
    h.poll_at(126s);
    EXPECT_EQ(h.port.disconnect_calls, 0);
    h.poll_at(240s);
    EXPECT_EQ(h.port.disconnect_calls, 0);
    // A new keepalive went 120 s after the answer...
    ASSERT_EQ(h.sent_data().size(), 2u);
    h.poll_at(246s); // ...and is not answered
    EXPECT_EQ(h.port.disconnect_calls, 1);
    expect_torn_down(h);
}

TEST(smbd_connection, peer_sending_beyond_its_credits_disconnects) {
    harness h;
    h.port.receive_buffers = 3;
    h.negotiate(negotiate_request_bytes(2)); // 2 granted, a third receive is spare
    h.client_sends({}, 0);
    h.client_sends({}, 0);
    EXPECT_EQ(h.port.disconnect_calls, 0);
    // Both reposted, neither granted yet: a third message has no credit.
    h.client_sends({}, 0);
    expect_torn_down(h);
}

TEST(smbd_connection, receive_queue_exhaustion_disconnects) {
    harness h;
    h.negotiate(negotiate_request_bytes(1));
    h.port.receive_buffers = 0; // the port cannot repost anything
    h.client_sends(pattern(8), 1);
    EXPECT_EQ(h.port.disconnect_calls, 1);
    expect_torn_down(h);
}

TEST(smbd_connection, receive_error_tears_down_and_returns_every_buffer) {
    harness h;
    h.negotiate(negotiate_request_bytes(20));
    h.client_sends({}, 10);
    h.conn->send_message(pattern(50));
    ASSERT_EQ(h.port.sent.size(), 2u);
    --h.port.posted_receives;
    h.conn->on_receive_error();
    EXPECT_EQ(h.port.disconnect_calls, 1);
    EXPECT_EQ(h.closed, 0); // a send and 19 receives are still with the hardware
    EXPECT_EQ(h.conn->send_message(pattern(5)), smbd_connection::send_result::not_connected);
    expect_torn_down(h);
}

TEST(smbd_connection, send_queue_full_resumes_on_completion) {
    harness h;
    h.negotiate(negotiate_request_bytes(255));
    h.port.send_slots = 2;
    h.client_sends({}, 50);
    for (int i = 0; i < 5; ++i) {
        h.conn->send_message(pattern(10, uint8_t(i)));
    }
    EXPECT_EQ(h.port.sent.size(), 3u); // the negotiate response and two in flight
    h.port.complete_sends(*h.conn);
    EXPECT_EQ(h.port.sent.size(), 5u);
    h.port.complete_sends(*h.conn);
    EXPECT_EQ(h.port.sent.size(), 6u);
    auto sent = h.sent_data();
    for (size_t i = 0; i < sent.size(); ++i) {
        EXPECT_EQ(bytes(sent[i].payload.begin(), sent[i].payload.end()), pattern(10, uint8_t(i)));
    }
}

TEST(smbd_connection, close_from_the_upper_layer) {
    harness h;
    h.negotiate();
    h.conn->close("test");
    h.conn->close("again");
    EXPECT_EQ(h.port.disconnect_calls, 1);
    expect_torn_down(h);
}

TEST(smbd_connection, head_and_payload_are_fragmented_as_one_message) {
    harness h;
    h.negotiate(negotiate_request_bytes(255, 1364, 1024));
    h.client_sends({}, 100);
    bytes head = pattern(1500, 1);
    auto payload = std::make_shared<bytes>(pattern(1700, 2));
    bool released = false;
    std::shared_ptr<const void> owner(payload.get(), [&released, payload](const void*) mutable {
        released = true;
        payload.reset();
    });
    h.conn->send_message(head, *payload, std::move(owner));
    bytes expect = head;
    expect.insert(expect.end(), payload->begin(), payload->end());
    auto sent = h.sent_data();
    ASSERT_EQ(sent.size(), 4u); // 3200 bytes at 1000 per fragment
    bytes got;
    for (auto& m : sent) {
        got.insert(got.end(), m.payload.begin(), m.payload.end());
    }
    EXPECT_EQ(got, expect);
    EXPECT_TRUE(released); // the payload is let go once its last fragment is posted
}
