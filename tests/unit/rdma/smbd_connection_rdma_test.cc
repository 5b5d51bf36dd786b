#include "tests/unit/rdma/smbd_harness.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::rdma;
using namespace smbx::rdma::testing;
using result = smbd_connection::rdma_result;

namespace {

struct done_log {
    std::vector<bool> calls;
    rdma_callback callback() {
        return [this](bool ok) { calls.push_back(ok); };
    }
};

} // namespace

TEST(smbd_rdma, read_moves_client_buffers_into_local_in_order) {
    harness h;
    h.negotiate();
    h.port.client_memory[7] = pattern(300, 1);
    h.port.client_memory[9] = pattern(200, 50);
    std::vector<buffer_descriptor_v1> remote = {{100, 7, 200}, {0, 9, 150}};
    bytes local(400, 0);
    done_log log;
    ASSERT_EQ(h.conn->rdma_read(remote, local, log.callback()), result::started);
    ASSERT_EQ(h.port.rdma_queue.size(), 2u); // one work request per descriptor
    h.port.complete_rdma(*h.conn);
    EXPECT_TRUE(log.calls.empty()); // not before the last one
    h.port.complete_rdma(*h.conn);
    ASSERT_EQ(log.calls, std::vector<bool>{true});
    bytes expect(h.port.client_memory[7].begin() + 100, h.port.client_memory[7].begin() + 300);
    expect.insert(expect.end(), h.port.client_memory[9].begin(),
                  h.port.client_memory[9].begin() + 150);
    EXPECT_EQ(bytes(local.begin(), local.begin() + 350), expect);
    EXPECT_EQ(local[350], 0); // nothing past the descriptors' total
}

TEST(smbd_rdma, write_fills_descriptors_in_order_and_stops_at_the_data) {
    harness h;
    h.negotiate();
    std::vector<buffer_descriptor_v1> remote = {{0, 1, 100}, {0, 2, 100}, {0, 3, 100}};
    bytes data = pattern(150, 3);
    done_log log;
    ASSERT_EQ(h.conn->rdma_write(remote, data, log.callback()), result::started);
    ASSERT_EQ(h.port.rdma_queue.size(), 2u); // the third descriptor is not needed
    EXPECT_EQ(h.port.rdma_queue[1].local.size(), 50u);
    h.port.complete_rdma(*h.conn);
    h.port.complete_rdma(*h.conn);
    ASSERT_EQ(log.calls, std::vector<bool>{true});
    bytes got = h.port.client_memory[1];
    got.insert(got.end(), h.port.client_memory[2].begin(), h.port.client_memory[2].end());
    EXPECT_EQ(got, data);
}

TEST(smbd_rdma, lengths_are_checked) {
    harness h;
    h.settings.max_read_write_size = 1000;
    h.negotiate();
    bytes local(500);
    done_log log;
    std::vector<buffer_descriptor_v1> big = {{0, 1, 501}};
    EXPECT_EQ(h.conn->rdma_read(big, local, log.callback()), result::too_large);
    std::vector<buffer_descriptor_v1> small = {{0, 1, 499}};
    EXPECT_EQ(h.conn->rdma_write(small, local, log.callback()), result::too_large);
    std::vector<buffer_descriptor_v1> zero = {{0, 1, 100}, {0, 2, 0}};
    EXPECT_EQ(h.conn->rdma_read(zero, local, log.callback()), result::bad_descriptors);
    EXPECT_EQ(h.conn->rdma_read({}, local, log.callback()), result::bad_descriptors);
    bytes huge(2000);
    std::vector<buffer_descriptor_v1> over = {{0, 1, 1001}};
    EXPECT_EQ(h.conn->rdma_read(over, huge, log.callback()), result::too_large);
    EXPECT_EQ(h.conn->rdma_write(over, huge, log.callback()), result::too_large);
    EXPECT_EQ(h.conn->rdma_write(small, byte_span(), log.callback()), result::empty);
    EXPECT_TRUE(h.port.rdma_queue.empty());
    EXPECT_TRUE(log.calls.empty());
}

TEST(smbd_rdma, refused_before_negotiation) {
    harness h;
    h.start();
    bytes local(10);
    std::vector<buffer_descriptor_v1> d = {{0, 1, 10}};
    EXPECT_EQ(h.conn->rdma_read(d, local, [](bool) {}), result::not_connected);
}

TEST(smbd_rdma, full_send_queue_posts_the_rest_on_completion) {
    harness h;
    h.negotiate();
    h.port.rdma_slots = 1;
    std::vector<buffer_descriptor_v1> remote = {{0, 1, 10}, {0, 2, 10}, {0, 3, 10}};
    bytes local(30);
    done_log log;
    ASSERT_EQ(h.conn->rdma_read(remote, local, log.callback()), result::started);
    EXPECT_EQ(h.port.rdma_queue.size(), 1u);
    h.port.complete_rdma(*h.conn);
    EXPECT_EQ(h.port.rdma_queue.size(), 1u);
    EXPECT_EQ(h.port.rdma_queue[0].remote.token, 2u);
    h.port.complete_rdma(*h.conn);
    h.port.complete_rdma(*h.conn);
    EXPECT_EQ(log.calls, std::vector<bool>{true});
}

TEST(smbd_rdma, disconnect_during_read_hands_each_buffer_back_once_after_the_flush) {
    harness h;
    h.negotiate();
    h.port.rdma_slots = 2;
    std::vector<buffer_descriptor_v1> three = {{0, 1, 10}, {0, 2, 10}, {0, 3, 10}};
    std::vector<buffer_descriptor_v1> one = {{0, 4, 10}};
    bytes a(30), b(10);
    done_log log_a, log_b;
    std::vector<std::string> order;
    ASSERT_EQ(h.conn->rdma_read(three, a,
                                [&](bool ok) {
                                    log_a.calls.push_back(ok);
                                    order.push_back("a");
                                }),
              result::started);
    ASSERT_EQ(h.conn->rdma_read(one, b,
                                [&](bool ok) {
                                    log_b.calls.push_back(ok);
                                    order.push_back("b");
                                }),
              result::started);
    EXPECT_EQ(h.port.rdma_queue.size(), 2u); // a's third descriptor and b wait
    h.conn->on_peer_disconnected();
    // b never reached the hardware: its buffer is back at once. a's two work requests
    // are still posted: its buffer stays out until they flush.
    EXPECT_EQ(log_b.calls, std::vector<bool>{false});
    EXPECT_TRUE(log_a.calls.empty());
    EXPECT_EQ(h.closed, 0);
    uint64_t wr = h.port.rdma_queue.front().wr_id;
    h.port.flush(*h.conn);
    EXPECT_EQ(log_a.calls, std::vector<bool>{false});
    EXPECT_EQ(h.closed, 1);
    EXPECT_EQ(order, (std::vector<std::string>{"b", "a"}));
    // A stray late completion changes nothing.
    h.conn->on_rdma_done(wr, true);
    EXPECT_EQ(log_a.calls.size(), 1u);
    EXPECT_EQ(h.closed, 1);
}

TEST(smbd_rdma, failed_work_request_fails_the_transfer_and_the_connection) {
    harness h;
    h.negotiate();
    std::vector<buffer_descriptor_v1> two = {{0, 1, 10}, {0, 2, 10}};
    bytes a(20);
    done_log log;
    ASSERT_EQ(h.conn->rdma_write(two, a, log.callback()), result::started);
    h.port.complete_rdma(*h.conn, false); // e.g. a bad rkey from the client
    EXPECT_TRUE(log.calls.empty());       // the second is still posted
    EXPECT_EQ(h.port.disconnect_calls, 1);
    h.port.flush(*h.conn);
    EXPECT_EQ(log.calls, std::vector<bool>{false});
    EXPECT_EQ(h.closed, 1);
}
