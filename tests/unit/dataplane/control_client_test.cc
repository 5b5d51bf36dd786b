// The data plane's side of lease arbitration, against the real control_service over a
// real channel: a CREATE's request is answered, the arbiter's break reaches the notice
// handler before the conflicting CREATE's answer, an acknowledgement releases the file.
#include "dataplane/control_client.hh"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "control/control_service.hh"

using namespace smbx;

namespace {

class control_client_leases : public ::testing::Test {
protected:
    void SetUp() override {
        auto r = config::parse("[global]\n[s]\n    path = /srv/s\n", "t");
        ASSERT_TRUE(r.ok());
        _cfg = r.config;
        ASSERT_TRUE(_channel.create());
        _wake_control = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        _wake_dataplane = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        auth_backend auth;
        auth.step = [](const ipc::auth_request&) { return ipc::auth_reply{}; };
        auth.abandon = [](uint64_t) {};
        _service =
            std::make_unique<control_service>(_cfg, auth, _channel, _wake_control, _wake_dataplane);
        _control_thread = std::thread([this] {
            while (!_stop) {
                pollfd p{_wake_control, POLLIN, 0};
                poll(&p, 1, 20);
                _service->on_wake();
            }
        });
        _client = std::make_unique<control_client>(_channel, _wake_control, _wake_dataplane);
        _client->on_lease_notice([this](const bytes& m) {
            std::lock_guard lock(_mutex);
            _notices.push_back(m);
        });
        _client->start(nullptr, true);
    }
    void TearDown() override {
        _client->stop();
        _stop = true;
        _control_thread.join();
        _service.reset();
        close(_wake_control);
        close(_wake_dataplane);
        close(_channel.fd());
    }
    std::vector<bytes> notices() {
        std::lock_guard lock(_mutex);
        return _notices;
    }
    static ipc::lease_open_request lease(uint64_t open, uint8_t client) {
        ipc::lease_open_request r;
        r.open = open;
        r.file = "2049:12:";
        r.has_lease = true;
        r.client[0] = client;
        r.lease_key[0] = client;
        r.requested = 7; // RWH
        return r;
    }

    config::server_config _cfg;
    control_channel _channel;
    int _wake_control = -1;
    int _wake_dataplane = -1;
    std::unique_ptr<control_service> _service;
    std::thread _control_thread;
    std::atomic<bool> _stop{false};
    std::unique_ptr<control_client> _client;
    std::mutex _mutex;
    std::vector<bytes> _notices;
};

TEST_F(control_client_leases, a_break_reaches_the_handler_and_the_ack_releases_the_file) {
    auto first = _client->lease_open(lease(1, 1));
    ASSERT_TRUE(first);
    EXPECT_EQ(first->granted, 7);
    EXPECT_TRUE(notices().empty());

    auto second = _client->lease_open(lease(2, 2));
    ASSERT_TRUE(second);
    EXPECT_TRUE(second->wait);
    auto n = notices();
    ASSERT_EQ(n.size(), 1u) << "the break came before the CREATE's answer";
    auto brk = ipc::decode_fields<ipc::lease_break>(n[0]);
    ASSERT_TRUE(brk);
    EXPECT_EQ(brk->via, 1u);
    EXPECT_EQ(brk->to, 3); // RH

    ipc::lease_ack_request ack;
    ack.lease = true;
    ack.client[0] = 1;
    ack.lease_key[0] = 1;
    ack.state = 3;
    auto acked = _client->lease_ack(ack);
    ASSERT_TRUE(acked);
    EXPECT_EQ(acked->status, 0u);
    // The release follows the reply on the ring; the poller delivers it soon after.
    for (int i = 0; i < 100 && notices().size() < 2; ++i) {
        usleep(10000);
    }
    n = notices();
    ASSERT_EQ(n.size(), 2u);
    EXPECT_EQ(ipc::decode_fields<ipc::lease_released>(n[1])->file, "2049:12:");

    auto again = _client->lease_open(lease(2, 2));
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->wait);
    EXPECT_EQ(again->granted, 3);

    // A CLOSE only tells: the arbiter forgets open 1, so open 3 of client 1 is alone
    // with client 2's RH lease and gets RH too.
    _client->lease_close(1);
    auto third = _client->lease_open(lease(3, 1));
    ASSERT_TRUE(third);
    EXPECT_EQ(third->granted, 3);
}

} // namespace
