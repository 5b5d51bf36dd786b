// The request checks of MS-SMB2 3.3.5.2.x, each on its own: what a failing request
// gets is the status the section names (or the end of the connection).
#include "dataplane/smb2/request_checks.hh"

#include "dataplane/smb2/crypto.hh"
#include "engine_fixture.hh"

namespace smbx::smb2::testing {
namespace {

class request_checks : public engine_fixture {
protected:
    bytes msg;
    header hdr;

    // A request of `cmd` with `body`, as the engine sees it after the compound walk.
    request make(command cmd, const bytes& body, uint64_t sid = 7, uint32_t tid = 1,
                 uint32_t flags = 0) {
        msg = message(cmd, 0, body, sid, tid, flags);
        EXPECT_TRUE(parse_header(msg, hdr));
        return request{*conn, hdr, msg};
    }
    void sign(bytes key) {
        EXPECT_TRUE(crypto::sign_in_place(conn->signing_alg, key, msg));
        EXPECT_TRUE(parse_header(msg, hdr));
    }
};

const bytes echo_body = {4, 0, 0, 0};

TEST_F(request_checks, message_id_outside_the_window_or_a_response_ends_the_connection) {
    header h;
    h.cmd = command::echo;
    EXPECT_FALSE(check_message_id(*conn, h)) << "before NEGOTIATE (3.3.5.2)";
    negotiate_311(); // used MessageId 0
    h.message_id = 1;
    EXPECT_FALSE(check_message_id(*conn, [&] {
        header r = h;
        r.flags = flag_server_to_redir;
        return r;
    }()));
    h.message_id = 5000;
    EXPECT_FALSE(check_message_id(*conn, h)) << "not granted (3.3.5.2.3)";
    h.message_id = 1;
    EXPECT_TRUE(check_message_id(*conn, h));
    EXPECT_FALSE(check_message_id(*conn, h)) << "used once only";
    h.cmd = command::negotiate;
    h.message_id = 2;
    EXPECT_FALSE(check_message_id(*conn, h)) << "a second NEGOTIATE";
    h.cmd = command::cancel;
    h.message_id = 1;
    EXPECT_TRUE(check_message_id(*conn, h)) << "CANCEL takes no credit";
}

TEST_F(request_checks, structure_size_comes_from_the_table) {
    EXPECT_EQ(check_structure_size(message(command::echo, 0, echo_body), 4), status::success);
    EXPECT_EQ(check_structure_size(message(command::echo, 0, {5, 0, 0, 0}), 4),
              status::invalid_parameter);
    EXPECT_EQ(check_structure_size(message(command::echo, 0, {}), 4), status::invalid_parameter)
        << "no StructureSize at all";
}

TEST_F(request_checks, session_missing_expired_or_unfinished) {
    negotiate_311();
    auto& s = add_session(7, false);
    auto req = make(command::create, echo_body);
    auto ok = check_session(*conn, req, tree_needed, false);
    EXPECT_EQ(ok.status, status::success);
    EXPECT_EQ(ok.sess, &s);

    auto unknown = make(command::create, echo_body, 8);
    EXPECT_EQ(check_session(*conn, unknown, tree_needed, false).status,
              status::user_session_deleted);
    EXPECT_EQ(check_session(*conn, req, tree_needed, true).status, status::invalid_parameter)
        << "related, after a request without a valid session (3.3.5.2.7.2)";

    s.st = session::state::expired;
    auto expired = check_session(*conn, req, tree_needed, false);
    EXPECT_EQ(expired.status, status::network_session_expired);
    EXPECT_EQ(expired.sess, &s) << "found: it still signs the response";
    auto close_req = make(command::close, echo_body);
    EXPECT_EQ(check_session(*conn, close_req, tree_needed, false).status, status::success)
        << "CLOSE, LOGOFF and LOCK pass on an expired session";
    s.st = session::state::in_progress;
    EXPECT_EQ(check_session(*conn, req, tree_needed, false).status, status::user_session_deleted);

    auto echo = make(command::echo, echo_body, 0);
    EXPECT_EQ(check_session(*conn, echo, none, false).status, status::success);
    EXPECT_EQ(check_session(*conn, echo, none, false).sess, nullptr);
}

TEST_F(request_checks, a_request_encrypted_for_another_session_ends_the_connection) {
    negotiate_311();
    auto& s = add_session(7, false);
    auto req = make(command::create, echo_body);
    req.encrypted = true;
    EXPECT_TRUE(check_transform_session(req, &s, 7));
    EXPECT_FALSE(check_transform_session(req, &s, 9));
    req.encrypted = false;
    EXPECT_TRUE(check_transform_session(req, &s, 9));
}

TEST_F(request_checks, signature_bad_missing_or_on_negotiate) {
    negotiate_311();
    auto& s = add_session(7, true);
    auto req = make(command::create, echo_body, 7, 1, flag_signed);
    sign(s.signing_key);
    EXPECT_EQ(check_signature(*conn, req, &s, nullptr).status, status::success);

    auto forged = make(command::create, echo_body, 7, 1, flag_signed);
    sign(bytes(16, 0x99));
    EXPECT_EQ(check_signature(*conn, forged, &s, nullptr).status, status::access_denied);

    auto unsigned_req = make(command::create, echo_body);
    EXPECT_EQ(check_signature(*conn, unsigned_req, &s, nullptr).status, status::access_denied)
        << "the session requires signing";
    auto unsigned_echo = make(command::echo, echo_body);
    EXPECT_EQ(check_signature(*conn, unsigned_echo, &s, nullptr).status, status::success);
    unsigned_req.encrypted = true;
    EXPECT_EQ(check_signature(*conn, unsigned_req, &s, nullptr).status, status::success)
        << "encryption authenticated it";

    auto other = make(command::create, echo_body, 8, 1, flag_signed);
    EXPECT_EQ(check_signature(*conn, other, nullptr, nullptr).status, status::user_session_deleted);
    auto neg = make(command::negotiate, echo_body, 0, 0, flag_signed);
    EXPECT_EQ(check_signature(*conn, neg, nullptr, nullptr).status, status::invalid_parameter);
}

TEST_F(request_checks, tree_connect_missing) {
    negotiate_311();
    auto& s = add_session(7, false);
    auto req = make(command::create, echo_body, 7, 1);
    req.sess = &s;
    EXPECT_EQ(check_tree(*conn, req, tree_needed), status::success);
    ASSERT_NE(req.tree, nullptr);
    EXPECT_EQ(req.tree->id, 1u);
    auto gone = make(command::create, echo_body, 7, 2);
    gone.sess = &s;
    EXPECT_EQ(check_tree(*conn, gone, tree_needed), status::network_name_deleted);
    EXPECT_EQ(check_tree(*conn, gone, session_needed), status::success) << "not needed";
}

TEST_F(request_checks, encryption_required_refuses_clear_text) {
    negotiate_311();
    auto& s = add_session(7, false);
    auto req = make(command::create, echo_body);
    req.sess = &s;
    EXPECT_EQ(check_encryption(*conn, req), status::success);
    s.encrypt_data = true; // 3.3.5.2.9
    EXPECT_EQ(check_encryption(*conn, req), status::access_denied);
    req.encrypted = true;
    EXPECT_EQ(check_encryption(*conn, req), status::success);
    auto setup = make(command::session_setup, echo_body);
    setup.sess = &s;
    EXPECT_EQ(check_encryption(*conn, setup), status::success) << "SESSION_SETUP excepted";
    s.encrypt_data = false;
    auto tree = s.find_tree(1);
    ASSERT_TRUE(tree);
    tree->share.encrypt_required = true; // 3.3.5.2.11
    req.encrypted = false;
    req.tree = tree.get();
    EXPECT_EQ(check_encryption(*conn, req), status::access_denied);
}

TEST_F(request_checks, credit_charge_must_cover_the_payload) {
    negotiate_311();
    header h;
    h.credit_charge = 1;
    EXPECT_EQ(check_credit_charge(*conn, h, 65536), status::success);
    EXPECT_EQ(check_credit_charge(*conn, h, 65537), status::invalid_parameter);
    h.credit_charge = 16;
    EXPECT_EQ(check_credit_charge(*conn, h, 1024 * 1024), status::success);
    h.credit_charge = 0; // counts as one
    EXPECT_EQ(check_credit_charge(*conn, h, 0), status::success);
    conn->dialect = 0x0202; // no multi-credit requests: nothing to cover
    EXPECT_EQ(check_credit_charge(*conn, h, 1024 * 1024), status::success);
}

} // namespace
} // namespace smbx::smb2::testing
