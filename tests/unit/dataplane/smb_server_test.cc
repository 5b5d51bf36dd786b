// The engine's entry point for every transport (smb_server::on_message): a message over
// the connection's max_incoming is refused and the connection closed, whatever framed
// it. SMB Direct's MS-SMBD reassembly delivers messages up to its own, larger maximum,
// so this is the check that holds an unauthenticated SMB Direct client to the
// pre-session limit (transport.hh, runtime/message_limits.hh).
#include "dataplane/smb_server.hh"

#include <gtest/gtest.h>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "dataplane/request_executor.hh"
#include "dataplane/runtime/worker.hh"
#include "tests/unit/dataplane/smb2/engine_fixture.hh"

using namespace smbx;
using smbx::smb2::testing::engine_fixture;

namespace {

// A connection as any transport hands it over (SMB Direct's included): records what
// the engine sends and whether it closed it.
struct recording_connection final : transport_connection {
    std::mutex mutex;
    std::vector<out_message> sent;
    bool closed = false;
    std::string peer = "test-peer";

    std::atomic<int> sent_on_cpu{-1}; // the core the last send ran on

    void send(out_message m) override {
        sent_on_cpu = sched_getcpu();
        std::lock_guard lock(mutex);
        sent.push_back(std::move(m));
    }
    void close() override {
        std::lock_guard lock(mutex);
        closed = true;
    }
    const std::string& peer_address() const override { return peer; }
    size_t sent_count() {
        std::lock_guard lock(mutex);
        return sent.size();
    }
};

// A NEGOTIATE request padded to `size` bytes: valid whatever its length, so a refusal
// can only come from the size.
bytes negotiate_of_size(size_t size) {
    bytes m = engine_fixture::message(smb2::command::negotiate, 0,
                                      engine_fixture::negotiate_body({0x0311}, true));
    m.resize(std::max(size, m.size()), 0);
    return m;
}

struct server_fixture : engine_fixture {
    request_executor executor{1};
    std::unique_ptr<smb_server> server;

    void SetUp() override {
        engine_fixture::SetUp();
        server = std::make_unique<smb_server>(settings, *control, executor);
    }
    void TearDown() override {
        executor.stop();
        server.reset();
        engine_fixture::TearDown();
    }

    std::shared_ptr<recording_connection> connect() {
        auto c = std::make_shared<recording_connection>();
        server->on_connect(c);
        return c;
    }
    // Waits up to 5 s for the engine (on its request thread) to answer.
    static bool wait_for_reply(recording_connection& c) {
        for (int i = 0; i < 500 && c.sent_count() == 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return c.sent_count() > 0;
    }
};

} // namespace

TEST_F(server_fixture, message_over_the_pre_session_limit_closes_the_connection) {
    auto c = connect();
    ASSERT_EQ(c->max_incoming.load(), pre_session_max_message);
    server->on_message(c, pool_buffer(negotiate_of_size(pre_session_max_message + 1)));
    EXPECT_TRUE(c->closed);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(c->sent_count(), 0u); // refused before it reached the SMB2 engine
    server->on_disconnect(c);
}

TEST_F(server_fixture, message_at_the_limit_is_processed) {
    auto c = connect();
    server->on_message(c, pool_buffer(negotiate_of_size(pre_session_max_message)));
    ASSERT_TRUE(wait_for_reply(*c));
    EXPECT_FALSE(c->closed);
    server->on_disconnect(c);
}

TEST_F(server_fixture, raised_limit_after_a_session_lets_large_messages_through) {
    auto c = connect();
    c->max_incoming = transport_connection::max_message; // as after a SESSION_SETUP
    server->on_message(c, pool_buffer(negotiate_of_size(pre_session_max_message + 1)));
    ASSERT_TRUE(wait_for_reply(*c));
    EXPECT_FALSE(c->closed);
    // Still never above the data plane's largest message.
    server->on_message(c, pool_buffer(negotiate_of_size(max_message_size + 1)));
    EXPECT_TRUE(c->closed);
    server->on_disconnect(c);
}

// A connection accepted on worker 1 has the request work that leaves the worker (a
// NEGOTIATE here) run by worker 1's helper pool, on worker 1's core.
TEST_F(server_fixture, requests_off_the_worker_run_on_the_helper_pool_of_its_core) {
    auto cpus = worker::allowed_cpus();
    if (cpus.size() < 2) {
        GTEST_SKIP() << "needs two cores";
    }
    request_executor pool0(1, cpus[0]), pool1(1, cpus[1]);
    smb_server per_worker(settings, *control, std::vector<request_executor*>{&pool0, &pool1});
    auto c = std::make_shared<recording_connection>();
    // What a transport does on its worker: accept, then deliver the first message.
    struct accepting_poller : poller {
        smb_server* server;
        std::shared_ptr<recording_connection> conn;
        bool done = false;
        unsigned poll() override {
            if (!done) {
                done = true;
                server->on_connect(conn);
                server->on_message(conn, pool_buffer(negotiate_of_size(0)));
            }
            return 0;
        }
    } accept;
    accept.server = &per_worker;
    accept.conn = c;
    worker w(1, -1, idle_policy::poll);
    w.add_poller(&accept);
    w.start();
    bool replied = wait_for_reply(*c);
    w.stop();
    w.join();
    per_worker.on_disconnect(c);
    pool0.stop();
    pool1.stop();
    ASSERT_TRUE(replied);
    EXPECT_EQ(c->sent_on_cpu.load(), cpus[1]);
}
