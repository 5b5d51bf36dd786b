#include "control/control_service.hh"

#include <atomic>
#include <poll.h>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "common/ntstatus.hh"

using namespace smbx;

namespace {

const char* test_conf = R"(
[global]
    server smb encrypt = if_required
[Public]
    path = /srv/public
    guest ok = yes
    comment = for everyone
[team]
    path = /srv/team
    valid users = Alice, bob
    read only = no
    smb encrypt = required
    direct io = yes
[hidden]
    path = /srv/hidden
    browseable = no
    guest ok = yes
    valid users = carol
)";

// A real channel and eventfds, with the test playing the data plane.
class control_service_test : public ::testing::Test {
protected:
    void SetUp() override {
        auto r = config::parse(test_conf, "t");
        ASSERT_TRUE(r.ok());
        _cfg = r.config;
        ASSERT_TRUE(_channel.create());
        _wake_control = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        _wake_dataplane = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        auth_backend auth;
        auth.step = [this](const ipc::auth_request& req) {
            _steps++;
            ipc::auth_reply r;
            r.auth_id = req.auth_id ? req.auth_id : 99;
            if (req.blob == bytes{1}) {
                r.status = status::more_processing_required;
                r.blob = {2, 2};
            } else {
                r.status = status::success;
                r.user = "alice";
                r.session_key = bytes(16, 7);
            }
            return r;
        };
        auth.abandon = [this](uint64_t id) { _abandoned = id; };
        _service =
            std::make_unique<control_service>(_cfg, auth, _channel, _wake_control, _wake_dataplane);
    }
    void TearDown() override {
        _service.reset();
        close(_wake_control);
        close(_wake_dataplane);
        close(_channel.fd());
    }

    // Data plane side: send a request, let control answer, fetch the reply.
    std::optional<bytes> call(const bytes& request) {
        EXPECT_TRUE(_channel.to_control().push(request));
        uint64_t one = 1;
        EXPECT_EQ(write(_wake_control, &one, 8), 8);
        _service->on_wake();
        return _channel.to_dataplane().pop();
    }
    bool dataplane_woken() {
        uint64_t v = 0;
        return read(_wake_dataplane, &v, 8) == 8 && v > 0;
    }
    ipc::tree_connect_reply connect(const std::string& user, const std::string& share,
                                    bool guest = false, bool anonymous = false) {
        ipc::tree_connect_request req{user, guest, anonymous, share};
        return _service->tree_connect(req);
    }

    config::server_config _cfg;
    control_channel _channel;
    int _wake_control = -1;
    int _wake_dataplane = -1;
    std::unique_ptr<control_service> _service;
    int _steps = 0;
    uint64_t _abandoned = 0;
};

} // namespace

TEST_F(control_service_test, auth_request_is_answered_with_same_id) {
    ipc::auth_request req{0, "127.0.0.1:5000", {1}};
    auto reply = call(ipc::encode(41, req));
    ASSERT_TRUE(reply);
    EXPECT_EQ(ipc::decode_header(*reply)->id, 41u);
    auto a = ipc::decode_auth_reply(*reply);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, status::more_processing_required);
    EXPECT_EQ(a->auth_id, 99u);
    EXPECT_EQ(a->blob, (bytes{2, 2}));
    EXPECT_TRUE(dataplane_woken());

    reply = call(ipc::encode(42, ipc::auth_request{99, "127.0.0.1:5000", {3}}));
    ASSERT_TRUE(reply);
    a = ipc::decode_auth_reply(*reply);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, status::success);
    EXPECT_EQ(a->user, "alice");
    EXPECT_EQ(_steps, 2);
}

TEST_F(control_service_test, auth_abandon_and_hello_need_no_reply) {
    EXPECT_FALSE(call(ipc::encode(5, ipc::auth_abandon{1234})));
    EXPECT_EQ(_abandoned, 1234u);
    EXPECT_FALSE(call(ipc::encode_hello(0, 777)));
}

TEST_F(control_service_test, malformed_messages_are_dropped_and_later_ones_served) {
    _channel.to_control().push(bytes{1, 2, 3});
    auto bad = ipc::encode(1, ipc::auth_request{0, "x", {1}});
    bad.push_back(0); // trailing garbage
    _channel.to_control().push(bad);
    auto reply = call(ipc::encode_share_enum_request(8));
    ASSERT_TRUE(reply);
    EXPECT_EQ(ipc::decode_header(*reply)->id, 8u);
    EXPECT_FALSE(_channel.to_dataplane().pop());
    EXPECT_EQ(_steps, 0);
}

// Oplock and lease arbitration through the ring: the reply under the request's id, a
// break under id 0 before it; a new data plane's hello forgets the old opens.
TEST_F(control_service_test, lease_requests_are_arbitrated_through_the_ring) {
    ipc::lease_open_request a;
    a.open = 1;
    a.file = "f";
    a.oplock = 0x09; // batch
    auto reply = call(ipc::encode_fields(21, a));
    ASSERT_TRUE(reply);
    EXPECT_EQ(ipc::decode_header(*reply)->id, 21u);
    EXPECT_EQ(ipc::decode_fields<ipc::lease_open_reply>(*reply)->oplock, 0x09);
    ipc::lease_open_request b = a;
    b.open = 2;
    auto brk = call(ipc::encode_fields(22, b));
    ASSERT_TRUE(brk);
    auto notice = ipc::decode_fields<ipc::lease_break>(*brk);
    ASSERT_TRUE(notice) << "the break comes first";
    EXPECT_EQ(notice->via, 1u);
    auto waits = _channel.to_dataplane().pop();
    ASSERT_TRUE(waits);
    EXPECT_TRUE(ipc::decode_fields<ipc::lease_open_reply>(*waits)->wait);
    // The break is never answered: at the deadline the waiting open is released.
    _service->tick(std::chrono::steady_clock::now() + std::chrono::seconds(36));
    auto released = _channel.to_dataplane().pop();
    ASSERT_TRUE(released);
    EXPECT_EQ(ipc::decode_fields<ipc::lease_released>(*released)->file, "f");
    // A new data plane: open 1 is gone, so open 3 has the file to itself.
    EXPECT_FALSE(call(ipc::encode_hello(0, 778)));
    ipc::lease_open_request c = a;
    c.open = 3;
    auto alone = call(ipc::encode_fields(23, c));
    ASSERT_TRUE(alone);
    EXPECT_EQ(ipc::decode_fields<ipc::lease_open_reply>(*alone)->oplock, 0x09);
}

TEST_F(control_service_test, tree_connect_through_ring) {
    auto reply = call(ipc::encode(7, ipc::tree_connect_request{"bob", false, false, "TEAM"}));
    ASSERT_TRUE(reply);
    auto t = ipc::decode_tree_connect_reply(*reply);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->status, status::success);
    EXPECT_EQ(t->share.name, "team");
    EXPECT_EQ(t->share.path, "/srv/team");
    EXPECT_FALSE(t->share.read_only);
    EXPECT_TRUE(t->share.encrypt_required);
    EXPECT_TRUE(t->share.direct_io);
    EXPECT_EQ(t->share.type, ipc::share_type::disk);
}

TEST_F(control_service_test, unknown_share_is_bad_network_name) {
    EXPECT_EQ(connect("alice", "nope").status, status::bad_network_name);
    EXPECT_EQ(connect("alice", "").status, status::bad_network_name);
}

TEST_F(control_service_test, valid_users) {
    EXPECT_EQ(connect("alice", "team").status, status::success); // case-insensitive
    EXPECT_EQ(connect("BOB", "team").status, status::success);
    EXPECT_EQ(connect("mallory", "team").status, status::access_denied);
    EXPECT_EQ(connect("mallory", "public").status, status::success); // empty list: all
}

TEST_F(control_service_test, guest_and_anonymous_need_guest_ok) {
    EXPECT_EQ(connect("", "public", true).status, status::success);
    EXPECT_EQ(connect("", "public", false, true).status, status::success);
    EXPECT_EQ(connect("", "team", true).status, status::access_denied);
    EXPECT_EQ(connect("", "team", false, true).status, status::access_denied);
    // guest ok, but a valid users list excludes guests.
    EXPECT_EQ(connect("", "hidden", true).status, status::access_denied);
    EXPECT_EQ(connect("carol", "hidden").status, status::success);
}

TEST_F(control_service_test, ipc_share_always_present) {
    for (auto [user, guest, anon] : {std::tuple{"alice", false, false}, std::tuple{"", true, false},
                                     std::tuple{"", false, true}}) {
        auto r = connect(user, "ipc$", guest, anon);
        EXPECT_EQ(r.status, status::success);
        EXPECT_EQ(r.share.type, ipc::share_type::ipc);
        EXPECT_EQ(r.share.name, "IPC$");
    }
    EXPECT_EQ(connect("alice", "\\\\server\\Public").status, status::success);
}

TEST_F(control_service_test, share_enum_lists_all_shares_and_ipc) {
    auto reply = call(ipc::encode_share_enum_request(3));
    ASSERT_TRUE(reply);
    auto e = ipc::decode_share_enum_reply(*reply);
    ASSERT_TRUE(e);
    ASSERT_EQ(e->shares.size(), 4u);
    EXPECT_EQ(e->shares[0].name, "Public");
    EXPECT_EQ(e->shares[0].comment, "for everyone");
    EXPECT_TRUE(e->shares[0].read_only);
    EXPECT_FALSE(e->shares[0].encrypt_required);
    EXPECT_FALSE(e->shares[2].browseable);
    EXPECT_EQ(e->shares[3].name, "IPC$");
    EXPECT_EQ(e->shares[3].type, ipc::share_type::ipc);
}

TEST_F(control_service_test, query_status_round_trip_with_dataplane_thread) {
    std::atomic<bool> stop{false};
    std::vector<bytes> other; // replies the data plane saw besides the status request
    std::thread dataplane([&] {
        while (!stop) {
            pollfd p{_wake_dataplane, POLLIN, 0};
            poll(&p, 1, 20);
            uint64_t v;
            (void)!read(_wake_dataplane, &v, 8);
            while (auto m = _channel.to_dataplane().pop()) {
                auto h = ipc::decode_header(*m);
                if (h && h->type == ipc::msg_type::status_request) {
                    ipc::status_reply s;
                    s.sessions.push_back({5, "alice", "127.0.0.1:1", 0x0311, true, true});
                    s.opens.push_back({5, "team", "a.txt", ""});
                    // An auth request first: control must keep serving while it waits.
                    _channel.to_control().push(ipc::encode(77, ipc::auth_request{0, "c", {1}}));
                    _channel.to_control().push(ipc::encode(h->id, s));
                    uint64_t one = 1;
                    (void)!write(_wake_control, &one, 8);
                } else {
                    other.push_back(*m);
                }
            }
        }
    });
    auto s = _service->query_status(std::chrono::milliseconds(2000));
    stop = true;
    dataplane.join();
    ASSERT_TRUE(s);
    ASSERT_EQ(s->sessions.size(), 1u);
    EXPECT_EQ(s->sessions[0].user, "alice");
    ASSERT_EQ(s->opens.size(), 1u);
    EXPECT_EQ(s->opens[0].path, "a.txt");
    EXPECT_EQ(_steps, 1);
    if (auto m = _channel.to_dataplane().pop()) {
        other.push_back(*m);
    }
    ASSERT_EQ(other.size(), 1u);
    EXPECT_EQ(ipc::decode_header(other[0])->id, 77u);
}

// A reply over many ring slots (parts), with another request in between, comes back
// whole; a part missing ends the wait at once, without a reply.
TEST_F(control_service_test, query_status_assembles_parts_and_refuses_a_gap) {
    ipc::status_reply s;
    for (uint64_t i = 0; i < 1000; ++i) {
        s.sessions.push_back({i + 1, "alice", "127.0.0.1:" + std::to_string(i), 0x0311, 1, 0});
        s.opens.push_back({i + 1, "team", "file-" + std::to_string(i), ""});
    }
    auto answer = [&](bool drop_one) {
        // The request comes once query_status runs; other replies (the auth reply of
        // the round before) are skipped.
        std::optional<ipc::header> h;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (!(h && h->type == ipc::msg_type::status_request)) {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline);
            auto m = _channel.to_dataplane().pop();
            h = m ? ipc::decode_header(*m) : std::nullopt;
            if (!m) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        }
        auto parts = ipc::encode_status_parts(h->id, s, _channel.to_control().max_message());
        ASSERT_GT(parts.size(), 3u);
        for (size_t i = 0; i < parts.size(); ++i) {
            if (i == 1) {
                ASSERT_TRUE(
                    _channel.to_control().push(ipc::encode(77, ipc::auth_request{0, "c", {1}})));
            }
            if (!(drop_one && i == 2)) {
                ASSERT_TRUE(_channel.to_control().push(parts[i]));
            }
        }
        uint64_t one = 1;
        EXPECT_EQ(write(_wake_control, &one, 8), 8);
    };
    std::thread dataplane([&] { answer(false); });
    auto got = _service->query_status(std::chrono::milliseconds(3000));
    dataplane.join();
    ASSERT_TRUE(got);
    ASSERT_EQ(got->sessions.size(), 1000u);
    ASSERT_EQ(got->opens.size(), 1000u);
    EXPECT_EQ(got->sessions.back().session_id, 1000u);
    EXPECT_EQ(got->opens.back().path, "file-999");
    EXPECT_EQ(_steps, 1); // the auth request between the parts was served

    std::thread gap([&] { answer(true); });
    auto start = std::chrono::steady_clock::now();
    got = _service->query_status(std::chrono::milliseconds(3000));
    gap.join();
    EXPECT_FALSE(got);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2500));
}

TEST_F(control_service_test, query_status_times_out_without_dataplane) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(_service->query_status(std::chrono::milliseconds(150)));
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_GE(took, std::chrono::milliseconds(140));
    EXPECT_LT(took, std::chrono::milliseconds(1500));
    // A late reply is ignored, not misdelivered.
    _channel.to_dataplane().pop();
    _channel.to_control().push(ipc::encode(1, ipc::status_reply{}));
    _service->on_wake();
}

TEST_F(control_service_test, reset_rings_drops_stale_messages) {
    _channel.to_control().push(ipc::encode_share_enum_request(1));
    _channel.to_dataplane().push(ipc::encode_share_enum_request(2));
    _service->reset_rings();
    EXPECT_TRUE(_channel.to_control().empty());
    EXPECT_TRUE(_channel.to_dataplane().empty());
}
