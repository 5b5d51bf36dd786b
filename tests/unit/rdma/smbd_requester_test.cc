// The requester mode of smbd_connection (MS-SMBD 3.1.5.2, 3.1.5.7): what smbx-bench's
// SMB Direct transport runs. First against hand-made negotiate responses, then against
// the listener engine itself, the two joined by fake ports.
#include "common/ntstatus.hh"
#include "tests/unit/rdma/smbd_harness.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::rdma;
using namespace smbx::rdma::testing;
using namespace std::chrono_literals;
using state = smbd_connection::state;

namespace {

bytes negotiate_response_bytes(uint16_t granted = 10, uint16_t requested = 10,
                               uint32_t status = status::success, uint32_t max_receive = 1364,
                               uint32_t max_fragmented = 1048576, uint32_t max_read_write = 1048576,
                               uint16_t version = smbd_version_1) {
    negotiate_response r;
    r.negotiated_version = version;
    r.credits_requested = requested;
    r.credits_granted = granted;
    r.status = status;
    r.max_read_write_size = max_read_write;
    r.preferred_send_size = 1364;
    r.max_receive_size = max_receive;
    r.max_fragmented_size = max_fragmented;
    byte_writer w;
    write_negotiate_response(w, r);
    return w.take();
}

struct requester : smbd_connection_events {
    fake_verbs_port port;
    smbd_settings settings;
    std::unique_ptr<smbd_connection> conn;
    std::vector<bytes> messages;
    int established = 0;
    int closed = 0;
    smbd_clock::time_point t0 = smbd_clock::time_point() + std::chrono::hours(1);

    void on_established() override { ++established; }
    void on_message(bytes m) override { messages.push_back(std::move(m)); }
    void on_closed() override { ++closed; }

    void start() {
        conn = std::make_unique<smbd_connection>(port, *this, settings, "test-server");
        ASSERT_TRUE(conn->start_requester(t0));
    }
};

} // namespace

TEST(smbd_requester, sends_the_negotiate_request_after_posting_a_receive) {
    requester r;
    r.settings.send_credit_target = 32;
    r.settings.max_fragmented_recv_size = 2 << 20;
    r.start();
    EXPECT_EQ(r.port.posted_receives, 1u); // for the response, before the request
    ASSERT_EQ(r.port.sent.size(), 1u);
    auto req = parse_negotiate_request(r.port.sent[0].data);
    ASSERT_TRUE(req);
    EXPECT_EQ(r.port.sent[0].data.size(), negotiate_request_size);
    EXPECT_EQ(req->min_version, smbd_version_1);
    EXPECT_EQ(req->max_version, smbd_version_1);
    EXPECT_EQ(req->credits_requested, 32);
    EXPECT_EQ(req->preferred_send_size, 1364u);
    EXPECT_EQ(req->max_receive_size, 1364u);
    EXPECT_EQ(req->max_fragmented_size, 2u << 20);
    EXPECT_EQ(r.conn->current_state(), state::negotiating);
    EXPECT_EQ(r.conn->send_credits(), 0);
    // Nothing may go before the negotiate completes.
    EXPECT_EQ(r.conn->send_message(pattern(10)), smbd_connection::send_result::not_connected);
}

TEST(smbd_requester, a_response_settles_sizes_and_credits) {
    requester r;
    r.settings.receive_credit_max = 16;
    r.settings.max_read_write_size = 4 << 20;
    r.start();
    r.port.complete_sends(*r.conn);
    // The server receives 1024 at most, grants 7 credits, wants 200, moves 8 MiB.
    r.port.deliver(*r.conn,
                   negotiate_response_bytes(7, 200, status::success, 1024, 262144, 8 << 20));
    EXPECT_EQ(r.established, 1);
    EXPECT_EQ(r.conn->current_state(), state::established);
    EXPECT_EQ(r.conn->send_credits(), 7);
    EXPECT_EQ(r.port.posted_receives, 16u); // its target, capped at ReceiveCreditMax
    const auto& n = r.conn->negotiated();
    EXPECT_EQ(n.max_send_size, 1024u);
    EXPECT_EQ(n.max_receive_size, 1364u);
    EXPECT_EQ(n.max_fragmented_send_size, 262144u);
    EXPECT_EQ(n.max_read_write_size, 4u << 20); // the smaller of the two
    // The first data transfer message grants the receives just posted.
    ASSERT_EQ(r.conn->send_message(pattern(100)), smbd_connection::send_result::queued);
    ASSERT_EQ(r.port.sent.size(), 2u);
    data_transfer_message m;
    ASSERT_EQ(parse_data_transfer(r.port.sent[1].data, m), data_transfer_error::none);
    EXPECT_EQ(m.header.credits_granted, 16);
    EXPECT_EQ(m.header.credits_requested, r.settings.send_credit_target);
    EXPECT_EQ(bytes(m.payload.begin(), m.payload.end()), pattern(100));
    EXPECT_EQ(r.conn->send_credits(), 6);
}

TEST(smbd_requester, fragments_to_the_peers_receive_size) {
    requester r;
    r.start();
    r.port.deliver(*r.conn, negotiate_response_bytes(255, 255, status::success, 512));
    bytes msg = pattern(2000, 3);
    ASSERT_EQ(r.conn->send_message(msg), smbd_connection::send_result::queued);
    bytes joined;
    uint32_t expect_remaining = 2000;
    for (size_t i = 1; i < r.port.sent.size(); ++i) {
        EXPECT_LE(r.port.sent[i].data.size(), 512u);
        data_transfer_message m;
        ASSERT_EQ(parse_data_transfer(r.port.sent[i].data, m), data_transfer_error::none);
        expect_remaining -= uint32_t(m.payload.size());
        EXPECT_EQ(m.header.remaining_data_length, expect_remaining);
        joined.insert(joined.end(), m.payload.begin(), m.payload.end());
    }
    EXPECT_EQ(r.port.sent.size(), 1u + (2000 + 487) / 488); // 512 - 24 bytes each
    EXPECT_EQ(joined, msg);
}

TEST(smbd_requester, refused_or_malformed_responses_end_the_connection) {
    bytes cases[] = {
        negotiate_response_bytes(10, 10, status::not_supported),
        negotiate_response_bytes(0),                                    // no credits
        negotiate_response_bytes(10, 10, status::success, 100),         // MaxReceiveSize < 128
        negotiate_response_bytes(10, 10, status::success, 1364, 65536), // MaxFragmentedSize
        negotiate_response_bytes(10, 10, status::success, 1364, 1048576, 1048576, 0x0200),
        negotiate_response_bytes(),
    };
    cases[5].resize(31); // one byte short of 32
    for (const auto& rsp : cases) {
        requester r;
        r.start();
        r.port.complete_sends(*r.conn);
        r.port.deliver(*r.conn, rsp);
        EXPECT_EQ(r.established, 0);
        EXPECT_EQ(r.port.disconnect_calls, 1);
        r.port.flush(*r.conn);
        EXPECT_EQ(r.conn->current_state(), state::closed);
        EXPECT_EQ(r.closed, 1);
    }
}

TEST(smbd_requester, no_response_in_time_ends_the_connection) {
    requester r;
    r.start();
    r.port.complete_sends(*r.conn);
    r.conn->poll(r.t0 + r.settings.negotiate_timeout - 1ms);
    EXPECT_EQ(r.port.disconnect_calls, 0);
    r.conn->poll(r.t0 + r.settings.negotiate_timeout);
    EXPECT_EQ(r.port.disconnect_calls, 1);
    r.port.flush(*r.conn);
    EXPECT_EQ(r.closed, 1);
}

namespace {

// A requester and a listener engine joined by their fake ports: what one posts as a
// send lands in one of the other's posted receives. A send with no receive posted on
// the far side is counted (RC hardware would retry, then fail: a credit bug).
struct wire {
    requester client;
    harness server;
    size_t to_server = 0, to_client = 0; // sends already carried
    int dropped = 0;

    void connect() {
        server.start();
        client.start();
        run();
        ASSERT_EQ(client.established, 1);
        ASSERT_EQ(server.conn->current_state(), state::established);
    }
    // Carries messages both ways and runs both sides' deferred work until quiet.
    void run() {
        for (int round = 0; round < 100000; ++round) {
            bool moved = carry(client.port, to_server, server.port, *server.conn) |
                         carry(server.port, to_client, client.port, *client.conn);
            client.port.complete_sends(*client.conn);
            server.port.complete_sends(*server.conn);
            moved |= client.conn->poll(client.t0) > 0;
            moved |= server.conn->poll(server.t0) > 0;
            if (!moved && client.port.sent.size() == to_server &&
                server.port.sent.size() == to_client) {
                return;
            }
        }
        FAIL() << "the two engines never went quiet";
    }
    bool carry(fake_verbs_port& from, size_t& done, fake_verbs_port& to, smbd_connection& c) {
        bool moved = false;
        while (done < from.sent.size()) {
            if (to.posted_receives == 0) {
                ++dropped;
            }
            bytes m = from.sent[done++].data;
            to.deliver(c, m);
            moved = true;
        }
        return moved;
    }
};

} // namespace

TEST(smbd_requester, talks_to_the_listener_engine_with_few_credits) {
    wire w;
    // Four credits each way: large messages need many grants, and the last-credit rule
    // (never spend the last credit on a message that grants none) keeps them flowing.
    w.client.settings.receive_credit_max = 4;
    w.client.settings.send_credit_target = 4;
    w.server.settings.receive_credit_max = 4;
    w.server.settings.send_credit_target = 4;
    w.connect();
    const bytes request = pattern(100000, 5);
    const bytes reply = pattern(300000, 9);
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(w.client.conn->send_message(request), smbd_connection::send_result::queued);
        w.run();
        ASSERT_EQ(w.server.messages.size(), size_t(i + 1));
        EXPECT_EQ(w.server.messages.back(), request);
        ASSERT_EQ(w.server.conn->send_message(reply), smbd_connection::send_result::queued);
        w.run();
        ASSERT_EQ(w.client.messages.size(), size_t(i + 1));
        EXPECT_EQ(w.client.messages.back(), reply);
    }
    EXPECT_EQ(w.dropped, 0);
    EXPECT_EQ(w.client.port.disconnect_calls, 0);
    EXPECT_EQ(w.server.port.disconnect_calls, 0);
    EXPECT_GT(w.client.conn->send_credits(), 0);
    EXPECT_GT(w.server.conn->send_credits(), 0);
}

TEST(smbd_requester, a_message_beyond_the_peers_max_fragmented_size_is_refused) {
    requester r;
    r.start();
    r.port.deliver(*r.conn, negotiate_response_bytes(10, 10, status::success, 1364, 131072));
    EXPECT_EQ(r.conn->send_message(pattern(131073)), smbd_connection::send_result::too_large);
    EXPECT_EQ(r.conn->send_message(pattern(131072)), smbd_connection::send_result::queued);
}
