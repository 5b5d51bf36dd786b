// Sessions shared by several connections (multichannel, MS-SMB2 3.3.5.5): what a
// binding SESSION_SETUP is refused with before any authentication, and how tree
// connects, opens and the session's end reach every channel. The successful binding
// (authentication through smbx-control) is proven with smbtorture (test_multichannel).
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "common/ntstatus.hh"
#include "dataplane/smb2/crypto.hh"
#include "tests/unit/dataplane/smb2/engine_fixture.hh"

using namespace smbx;
using namespace smbx::smb2;
using namespace smbx::smb2::testing;

namespace {

constexpr uint8_t binding_flag = 0x01;

struct multichannel : engine_fixture {
    std::unique_ptr<connection> second;
    std::shared_ptr<session> shared;

    void SetUp() override {
        engine_fixture::SetUp();
        negotiate(*conn, {0x0311});
        second = std::make_unique<connection>(settings, *control, "second");
        second->all_sessions = conn->all_sessions;
        negotiate(*second, {0x0311});
        session& s = conn->add_new_session();
        s.st = session::state::valid;
        s.user = "alice";
        s.session_key = bytes(16, 0x11);
        s.signing_key = bytes(16, 0x22);
        auto t = std::make_shared<tree_connect>();
        t->id = 1;
        t->share.name = "share";
        s.add_tree(t);
        shared = conn->all_sessions->find(s.id);
    }
    void TearDown() override {
        second.reset();
        shared.reset();
        engine_fixture::TearDown();
    }

    static void negotiate(connection& c, std::vector<uint16_t> dialects) {
        bool contexts = std::find(dialects.begin(), dialects.end(), 0x0311) != dialects.end();
        auto r =
            process_message(c, message(command::negotiate, 0, negotiate_body(dialects, contexts)));
        ASSERT_EQ(reply_header(r).status, status::success);
    }

    // SESSION_SETUP with the binding flag and an (empty) security blob, signed with
    // `key` under `alg` unless the key is empty.
    static bytes binding_request(uint64_t mid, uint64_t sid, const bytes& key,
                                 signing_algorithm alg) {
        byte_writer b;
        b.u16(25);
        b.u8(binding_flag);
        b.u8(signing_enabled);
        b.u32(0);
        b.u32(0);
        b.u16(header_size + 24);
        b.u16(0);
        b.u64(0);
        auto m =
            message(command::session_setup, mid, b.buffer(), sid, 0, key.empty() ? 0 : flag_signed);
        if (!key.empty()) {
            EXPECT_TRUE(crypto::sign_in_place(alg, key, m));
        }
        return m;
    }

    static bytes close_body(file_id id) {
        byte_writer b;
        b.u16(24);
        b.u16(0);
        b.u32(0);
        b.u64(id.persistent);
        b.u64(id.volatile_id);
        return b.take();
    }

    // The second connection as a bound channel, with its own signing key.
    const bytes channel_key = bytes(16, 0x55);
    void bind_second() { second->add_channel(shared, channel_key); }
    // An open of the shared session on tree 1, as CREATE would add it.
    std::shared_ptr<open_handle> add_open() {
        auto h = std::make_shared<open_handle>();
        h->session_id = shared->id;
        h->tree_id = 1;
        shared->add_open(h);
        return h;
    }

    uint32_t bind_status(connection& c, uint64_t mid, uint64_t sid, const bytes& key) {
        auto r = process_message(c, binding_request(mid, sid, key, shared->signing_alg));
        return reply_header(r).status;
    }
};

TEST_F(multichannel, the_server_announces_multichannel_at_3x_only) {
    EXPECT_TRUE(conn->server_capabilities & cap_multi_channel);
    connection old(settings, *control, "old");
    negotiate(old, {0x0210});
    EXPECT_FALSE(old.server_capabilities & cap_multi_channel);
}

TEST_F(multichannel, binding_refusals_before_authentication) {
    // Not signed: INVALID_PARAMETER (3.3.5.5 step 4).
    EXPECT_EQ(bind_status(*second, 1, shared->id, {}), status::invalid_parameter);
    // Signed with another key: the signature check refuses it.
    EXPECT_EQ(bind_status(*second, 2, shared->id, bytes(16, 0x99)), status::access_denied);
    // A session nobody has.
    EXPECT_EQ(bind_status(*second, 3, shared->id ^ 1, shared->signing_key),
              status::user_session_deleted);
    // Already a channel of this connection.
    EXPECT_EQ(bind_status(*conn, 1, shared->id, shared->signing_key), status::request_not_accepted);
    // Another dialect than the session's.
    connection c302(settings, *control, "c302");
    c302.all_sessions = conn->all_sessions;
    negotiate(c302, {0x0302});
    EXPECT_EQ(bind_status(c302, 1, shared->id, shared->signing_key), status::invalid_parameter);
    // No binding before 3.0.
    connection c210(settings, *control, "c210");
    c210.all_sessions = conn->all_sessions;
    negotiate(c210, {0x0210});
    EXPECT_EQ(bind_status(c210, 1, shared->id, shared->signing_key), status::request_not_accepted);
    // Nothing of these left a channel or a binding behind.
    EXPECT_EQ(shared->channels.load(), 1u);
    EXPECT_TRUE(second->bindings.empty());
    EXPECT_EQ(second->find_session(shared->id), nullptr);
}

TEST_F(multichannel, binding_refusals_by_session_state) {
    shared->st = session::state::in_progress;
    EXPECT_EQ(bind_status(*second, 1, shared->id, shared->signing_key),
              status::request_not_accepted);
    shared->st = session::state::valid;
    shared->guest = true;
    EXPECT_EQ(bind_status(*second, 2, shared->id, shared->signing_key), status::not_supported);
    shared->guest = false;
    second->multichannel = false; // `server multi channel support = no`
    EXPECT_EQ(bind_status(*second, 3, shared->id, shared->signing_key),
              status::request_not_accepted);
}

TEST_F(multichannel, a_refused_binding_is_answered_signed_with_the_session_key) {
    second->all_sessions = conn->all_sessions;
    second->multichannel = false;
    auto r = process_message(
        *second, binding_request(1, shared->id, shared->signing_key, shared->signing_alg));
    ASSERT_EQ(reply_header(r).status, status::request_not_accepted);
    EXPECT_TRUE(reply_header(r).flags & flag_signed);
    EXPECT_TRUE(crypto::verify_signature(shared->signing_alg, shared->signing_key, r.replies[0]));
}

TEST_F(multichannel, a_channel_verifies_with_its_own_key_and_reaches_the_sessions_opens) {
    bind_second();
    auto h = add_open();
    file_id id = h->id;
    h.reset();

    // Signed with the session's key, not the channel's: refused.
    auto wrong = message(command::close, 1, close_body(id), shared->id, 1, flag_signed);
    ASSERT_TRUE(crypto::sign_in_place(second->signing_alg, shared->signing_key, wrong));
    EXPECT_EQ(reply_header(process_message(*second, wrong)).status, status::access_denied);
    EXPECT_NE(shared->find_open(id), nullptr);

    // With the channel's key, the open made on the first connection closes here.
    auto right = message(command::close, 2, close_body(id), shared->id, 1, flag_signed);
    ASSERT_TRUE(crypto::sign_in_place(second->signing_alg, channel_key, right));
    auto r = process_message(*second, right);
    ASSERT_EQ(reply_header(r).status, status::success);
    EXPECT_TRUE(crypto::verify_signature(second->signing_alg, channel_key, r.replies[0]));
    EXPECT_EQ(shared->find_open(id), nullptr);
}

TEST_F(multichannel, an_open_closed_or_a_tree_disconnected_on_one_channel_is_gone_on_the_other) {
    bind_second();
    auto h = add_open();
    file_id id = h->id;

    // Both connections have looked the open and the tree up (and remember them).
    EXPECT_EQ(conn->find_open(*shared, id), h);
    EXPECT_EQ(second->find_open(*shared, id), h);
    ASSERT_NE(conn->find_tree(*shared, 1), nullptr);
    // Another session's request cannot reach it through what was remembered.
    auto other = std::make_shared<session>();
    other->id = shared->id ^ 1;
    EXPECT_EQ(conn->find_open(*other, id), nullptr);

    // Closed on the second channel while the first still holds a reference (as a
    // request in flight would): the first no longer finds it.
    auto close = message(command::close, 1, close_body(id), shared->id, 1, flag_signed);
    ASSERT_TRUE(crypto::sign_in_place(second->signing_alg, channel_key, close));
    ASSERT_EQ(reply_header(process_message(*second, close)).status, status::success);
    EXPECT_TRUE(h->closed);
    EXPECT_EQ(conn->find_open(*shared, id), nullptr);
    h.reset();

    // A tree disconnected on the second channel: the first gets NETWORK_NAME_DELETED.
    auto tdis = message(command::tree_disconnect, 2, {4, 0, 0, 0}, shared->id, 1, flag_signed);
    ASSERT_TRUE(crypto::sign_in_place(second->signing_alg, channel_key, tdis));
    ASSERT_EQ(reply_header(process_message(*second, tdis)).status, status::success);
    EXPECT_EQ(conn->find_tree(*shared, 1), nullptr);
    auto again = message(command::tree_disconnect, 1, {4, 0, 0, 0}, shared->id, 1);
    EXPECT_EQ(reply_header(process_message(*conn, again)).status, status::network_name_deleted);
}

TEST_F(multichannel, logoff_on_one_channel_ends_the_session_on_all) {
    second->add_channel(shared, bytes(16, 0x55));
    auto h = std::make_shared<open_handle>();
    file_id id = shared->add_open(h);
    std::weak_ptr<open_handle> watch = h;
    h.reset();

    auto logoff = message(command::logoff, 1, {4, 0, 0, 0}, shared->id);
    ASSERT_EQ(reply_header(process_message(*conn, logoff)).status, status::success);
    EXPECT_EQ(conn->all_sessions->find(shared->id), nullptr);
    EXPECT_EQ(conn->find_session(shared->id), nullptr);
    EXPECT_TRUE(watch.expired()); // the open closed with its session
    EXPECT_EQ(shared->find_open(id), nullptr);

    auto echo_like = message(command::tree_disconnect, 1, {4, 0, 0, 0}, shared->id, 1);
    EXPECT_EQ(reply_header(process_message(*second, echo_like)).status,
              status::user_session_deleted);
    EXPECT_EQ(second->find_session(shared->id), nullptr);
    EXPECT_EQ(shared->channels.load(), 0u);
}

TEST_F(multichannel, the_session_ends_with_its_last_channel) {
    second->add_channel(shared, bytes(16, 0x55));
    auto h = std::make_shared<open_handle>();
    shared->add_open(h);
    std::weak_ptr<open_handle> watch = h;
    h.reset();
    uint64_t id = shared->id;

    conn.reset(); // the first connection goes: the session lives on in the second
    EXPECT_NE(second->all_sessions->find(id), nullptr);
    EXPECT_FALSE(watch.expired());
    EXPECT_FALSE(shared->logged_off);

    auto table = second->all_sessions;
    second.reset();
    EXPECT_EQ(table->find(id), nullptr);
    EXPECT_TRUE(watch.expired());
    EXPECT_TRUE(shared->logged_off);
}

TEST(session_table, ids_are_unique_nonzero_and_removable) {
    session_table t;
    std::set<uint64_t> ids;
    for (int i = 0; i < 100; ++i) {
        auto s = std::make_shared<session>();
        t.add_new(s);
        EXPECT_NE(s->id, 0u);
        EXPECT_NE(s->id, ~0ULL);
        EXPECT_TRUE(ids.insert(s->id).second);
        EXPECT_EQ(t.find(s->id), s);
    }
    EXPECT_EQ(t.size(), 100u);
    t.remove(*ids.begin());
    EXPECT_EQ(t.find(*ids.begin()), nullptr);
    EXPECT_EQ(t.size(), 99u);
}

} // namespace
