// End-to-end SESSION_SETUP exchanges against the authenticator, with the test acting as an
// NTLMv2 client (MS-NLMP 3.1.5) inside SPNEGO (MS-SPNG 3.1.5).
#include "control/auth/authenticator.hh"

#include <cstdlib>
#include <fstream>
#include <string_view>

#include <gtest/gtest.h>

#include "common/ntstatus.hh"
#include "control/auth/nt_hash.hh"
#include "control/auth/ntlm_client.hh"
#include "control/auth/ntlm_crypto.hh"
#include "control/auth/ntlmssp.hh"
#include "control/auth/spnego.hh"

using namespace smbx;
using namespace smbx::auth;

namespace {

template <typename T> bytes b(const T& c) {
    return bytes(c.begin(), c.end());
}

// The library client, with a test's defaults: alice's credentials.
struct client_options : ntlm::client_options {
    client_options() {
        user = "alice";
        password = "Secret#1";
    }
};

// The client's half of one NTLMSSP exchange; a malformed CHALLENGE fails the test.
struct test_client : ntlm::client {
    test_client() : ntlm::client(client_options()) {}

    bytes authenticate(const bytes& challenge_msg) {
        auto msg = ntlm::client::authenticate(challenge_msg);
        EXPECT_TRUE(msg);
        return msg ? *msg : bytes();
    }
};

struct users {
    std::map<std::string, nt_hash> table = {{"alice", compute_nt_hash("Secret#1")},
                                            {"bob", compute_nt_hash("hunter2")}};
    hash_lookup lookup() const {
        return [this](std::string_view user) -> std::optional<nt_hash> {
            std::string lower(user);
            for (auto& c : lower) {
                c = char(std::tolower(uint8_t(c)));
            }
            auto it = table.find(lower);
            if (it == table.end()) {
                return std::nullopt;
            }
            return it->second;
        };
    }
};

ipc::auth_reply step(authenticator& a, uint64_t id, bytes blob) {
    ipc::auth_request req;
    req.auth_id = id;
    req.client_address = "192.0.2.1";
    req.blob = std::move(blob);
    return a.step(req);
}

spnego::neg_token_resp as_resp(const bytes& blob) {
    auto tok = spnego::parse(blob);
    EXPECT_TRUE(tok && std::holds_alternative<spnego::neg_token_resp>(*tok));
    if (!tok || !std::holds_alternative<spnego::neg_token_resp>(*tok)) {
        return {};
    }
    return std::get<spnego::neg_token_resp>(*tok);
}

bytes neg_token_init(const bytes& mech_token, std::vector<bytes> mechs = {b(spnego::oid_ntlmssp)}) {
    spnego::neg_token_init init;
    init.mech_types = std::move(mechs);
    init.mech_token = mech_token;
    return spnego::encode(init);
}

bytes final_leg(test_client& c, const bytes& auth, const bytes& mech_types_der,
                bool with_mic = true) {
    spnego::neg_token_resp resp;
    resp.response_token = auth;
    if (with_mic) {
        auto sig =
            c.security(session_security::direction::client_to_server).sign(0, mech_types_der);
        resp.mech_list_mic = b(sig);
    }
    return spnego::encode(resp);
}

// Runs a whole SPNEGO exchange: NEGOTIATE inside negTokenInit, AUTHENTICATE with the
// client's mechListMIC in negTokenResp.
struct spnego_run {
    ipc::auth_reply first;
    ipc::auth_reply last;
    test_client client;
};

spnego_run run_spnego(authenticator& a, client_options opt, bool mech_list_mic = true,
                      bool corrupt_mech_list_mic = false) {
    spnego_run r;
    r.client.opt = std::move(opt);
    r.first = step(a, 0, neg_token_init(r.client.start()));
    EXPECT_EQ(r.first.status, status::more_processing_required);
    auto resp = as_resp(r.first.blob);
    EXPECT_TRUE(resp.response_token);
    if (!resp.response_token) {
        return r;
    }
    bytes auth = r.client.authenticate(*resp.response_token);
    bytes mechs = spnego::encode_mech_types({b(spnego::oid_ntlmssp)});
    bytes leg = final_leg(r.client, auth, mechs, mech_list_mic);
    if (corrupt_mech_list_mic) {
        leg[leg.size() - 5] ^= 1;
    }
    r.last = step(a, r.first.auth_id, leg);
    return r;
}

struct authenticator_test : ::testing::Test {
    users db;
    auth_policy policy;
};

} // namespace

TEST_F(authenticator_test, spnego_ntlmv2_with_key_exch_and_mic) {
    authenticator a(policy, db.lookup());
    spnego_run r = run_spnego(a, {});
    EXPECT_NE(r.first.auth_id, 0u);

    // First reply: accept-incomplete, supportedMech NTLMSSP, the CHALLENGE.
    auto first = as_resp(r.first.blob);
    EXPECT_EQ(first.state, spnego::neg_state::accept_incomplete);
    EXPECT_EQ(first.supported_mech, b(spnego::oid_ntlmssp));

    ASSERT_EQ(r.last.status, status::success);
    EXPECT_EQ(r.last.auth_id, r.first.auth_id);
    EXPECT_EQ(r.last.user, "alice");
    EXPECT_EQ(r.last.domain, "WORKGROUP");
    EXPECT_FALSE(r.last.guest);
    EXPECT_FALSE(r.last.anonymous);
    ASSERT_EQ(r.last.session_key.size(), 16u);
    EXPECT_EQ(r.last.session_key, r.client.exported_key());
    EXPECT_NE(r.last.session_key, r.client.session_base_key()); // KEY_EXCH took effect

    // Final reply: accept-completed and the server's mechListMIC, which the client checks.
    auto last = as_resp(r.last.blob);
    EXPECT_EQ(last.state, spnego::neg_state::accept_completed);
    ASSERT_TRUE(last.mech_list_mic);
    bytes mechs = spnego::encode_mech_types({b(spnego::oid_ntlmssp)});
    auto expected = r.client.security(session_security::direction::server_to_client).sign(0, mechs);
    EXPECT_EQ(*last.mech_list_mic, b(expected));
    EXPECT_EQ(a.active_exchanges(), 0u);
}

TEST_F(authenticator_test, without_key_exch_the_session_key_is_the_session_base_key) {
    authenticator a(policy, db.lookup());
    client_options opt;
    opt.flags &= ~ntlm::flag::key_exch;
    spnego_run r = run_spnego(a, opt);
    ASSERT_EQ(r.last.status, status::success);
    EXPECT_EQ(r.last.session_key, r.client.session_base_key());
    auto last = as_resp(r.last.blob);
    ASSERT_TRUE(last.mech_list_mic);
    bytes mechs = spnego::encode_mech_types({b(spnego::oid_ntlmssp)});
    EXPECT_EQ(*last.mech_list_mic,
              b(r.client.security(session_security::direction::server_to_client).sign(0, mechs)));
}

TEST_F(authenticator_test, raw_ntlmssp_without_spnego) {
    authenticator a(policy, db.lookup());
    test_client c;
    c.opt.user = "BOB"; // user names are case-insensitive; NTOWFv2 upper-cases them
    c.opt.password = "hunter2";
    auto first = step(a, 0, c.start());
    ASSERT_EQ(first.status, status::more_processing_required);
    EXPECT_EQ(ntlm::peek_type(first.blob), ntlm::message_type::challenge);
    auto last = step(a, first.auth_id, c.authenticate(first.blob));
    ASSERT_EQ(last.status, status::success);
    EXPECT_TRUE(last.blob.empty());
    EXPECT_EQ(last.user, "BOB");
    EXPECT_EQ(last.session_key, c.exported_key());
}

TEST_F(authenticator_test, domain_fallback_to_empty) {
    authenticator a(policy, db.lookup());
    client_options opt;
    opt.domain = "SOMEWHERE";
    opt.ntowf_domain = "";
    spnego_run r = run_spnego(a, opt);
    ASSERT_EQ(r.last.status, status::success);
    EXPECT_EQ(r.last.domain, "SOMEWHERE");
    EXPECT_EQ(r.last.session_key, r.client.exported_key());

    // A domain that is neither the one sent nor empty does not match.
    opt.ntowf_domain = "ELSEWHERE";
    EXPECT_EQ(run_spnego(a, opt).last.status, status::logon_failure);
}

TEST_F(authenticator_test, wrong_password_fails_and_drops_the_exchange) {
    authenticator a(policy, db.lookup());
    client_options opt;
    opt.password = "Secret#2";
    spnego_run r = run_spnego(a, opt);
    EXPECT_EQ(r.last.status, status::logon_failure);
    EXPECT_TRUE(r.last.session_key.empty());
    EXPECT_TRUE(r.last.user.empty());
    EXPECT_EQ(a.active_exchanges(), 0u);
    // The exchange is gone: another AUTHENTICATE on it fails.
    auto again = step(a, r.first.auth_id, bytes{1, 2, 3});
    EXPECT_EQ(again.status, status::logon_failure);
}

TEST_F(authenticator_test, unknown_user_fails_without_guest) {
    authenticator a(policy, db.lookup());
    client_options opt;
    opt.user = "mallory";
    EXPECT_EQ(run_spnego(a, opt).last.status, status::logon_failure);
}

TEST_F(authenticator_test, ntlmv1_response_is_refused) {
    authenticator a(policy, db.lookup());
    client_options opt;
    opt.ntlmv1 = true;
    EXPECT_EQ(run_spnego(a, opt, false).last.status, status::logon_failure);
    // Even with guest mapping on, an NTLMv1 response never authenticates.
    policy.allow_guest = true;
    authenticator g(policy, db.lookup());
    opt.user = "nobody-known";
    EXPECT_EQ(run_spnego(g, opt, false).last.status, status::logon_failure);
}

TEST_F(authenticator_test, corrupted_mic_is_refused) {
    authenticator a(policy, db.lookup());
    client_options opt;
    opt.corrupt_mic = true;
    EXPECT_EQ(run_spnego(a, opt).last.status, status::logon_failure);
}

TEST_F(authenticator_test, corrupted_mech_list_mic_is_refused) {
    authenticator a(policy, db.lookup());
    auto r = run_spnego(a, {}, true, true);
    EXPECT_EQ(r.last.status, status::logon_failure);
    EXPECT_TRUE(r.last.session_key.empty());
}

TEST_F(authenticator_test, missing_mech_list_mic_is_accepted_when_ntlmssp_was_preferred) {
    authenticator a(policy, db.lookup());
    auto r = run_spnego(a, {}, false);
    ASSERT_EQ(r.last.status, status::success);
    EXPECT_FALSE(as_resp(r.last.blob).mech_list_mic);
}

TEST_F(authenticator_test, kerberos_first_gets_request_mic_then_ntlmssp) {
    std::vector<bytes> mechs = {b(spnego::oid_ms_kerberos), b(spnego::oid_kerberos),
                                b(spnego::oid_ntlmssp)};
    bytes mechs_der = spnego::encode_mech_types(mechs);
    for (bool with_mic : {true, false}) {
        authenticator a(policy, db.lookup());
        test_client c;
        // An optimistic Kerberos AP-REQ the server cannot use.
        auto first = step(a, 0, neg_token_init(bytes{0x6e, 0x03, 0x02, 0x01, 0x05}, mechs));
        ASSERT_EQ(first.status, status::more_processing_required);
        auto resp = as_resp(first.blob);
        EXPECT_EQ(resp.state, spnego::neg_state::request_mic);
        EXPECT_EQ(resp.supported_mech, b(spnego::oid_ntlmssp));
        EXPECT_FALSE(resp.response_token);

        spnego::neg_token_resp neg;
        neg.response_token = c.start();
        auto second = step(a, first.auth_id, spnego::encode(neg));
        ASSERT_EQ(second.status, status::more_processing_required);
        auto chal = as_resp(second.blob);
        ASSERT_TRUE(chal.response_token);
        EXPECT_EQ(chal.state, spnego::neg_state::accept_incomplete);

        auto last = step(a, first.auth_id,
                         final_leg(c, c.authenticate(*chal.response_token), mechs_der, with_mic));
        if (with_mic) {
            ASSERT_EQ(last.status, status::success);
            EXPECT_EQ(last.session_key, c.exported_key());
            auto fin = as_resp(last.blob);
            ASSERT_TRUE(fin.mech_list_mic);
            EXPECT_EQ(
                *fin.mech_list_mic,
                b(c.security(session_security::direction::server_to_client).sign(0, mechs_der)));
        } else {
            // Not the preferred mechanism: the mechListMIC is mandatory (RFC 4178 5).
            EXPECT_EQ(last.status, status::logon_failure);
        }
    }
}

TEST_F(authenticator_test, mech_list_mic_covers_the_list_the_client_sent) {
    authenticator a(policy, db.lookup());
    std::vector<bytes> mechs = {b(spnego::oid_kerberos), b(spnego::oid_ntlmssp)};
    test_client c;
    auto first = step(a, 0, neg_token_init(bytes{0x01}, mechs));
    spnego::neg_token_resp neg;
    neg.response_token = c.start();
    auto second = step(a, first.auth_id, spnego::encode(neg));
    auto chal = as_resp(second.blob);
    ASSERT_TRUE(chal.response_token);
    // Signing a list other than the one sent (a downgrade) fails.
    bytes other = spnego::encode_mech_types({b(spnego::oid_ntlmssp)});
    auto last = step(a, first.auth_id, final_leg(c, c.authenticate(*chal.response_token), other));
    EXPECT_EQ(last.status, status::logon_failure);
}

TEST_F(authenticator_test, ntlmssp_first_without_token_waits_for_negotiate) {
    authenticator a(policy, db.lookup());
    spnego::neg_token_init init;
    init.mech_types = {b(spnego::oid_ntlmssp)};
    auto first = step(a, 0, spnego::encode(init));
    ASSERT_EQ(first.status, status::more_processing_required);
    auto resp = as_resp(first.blob);
    EXPECT_EQ(resp.state, spnego::neg_state::accept_incomplete);
    EXPECT_FALSE(resp.response_token);
    test_client c;
    spnego::neg_token_resp neg;
    neg.response_token = c.start();
    auto second = step(a, first.auth_id, spnego::encode(neg));
    auto chal = as_resp(second.blob);
    ASSERT_TRUE(chal.response_token);
    bytes auth = c.authenticate(*chal.response_token);
    auto last =
        step(a, first.auth_id, final_leg(c, auth, spnego::encode_mech_types(init.mech_types)));
    EXPECT_EQ(last.status, status::success);
}

TEST_F(authenticator_test, no_ntlmssp_offered_is_logon_failure) {
    authenticator a(policy, db.lookup());
    auto r = step(a, 0, neg_token_init(bytes{1}, {b(spnego::oid_kerberos)}));
    EXPECT_EQ(r.status, status::logon_failure);
    EXPECT_EQ(a.active_exchanges(), 0u);
}

TEST_F(authenticator_test, anonymous_refused_by_default_and_allowed_by_policy) {
    client_options opt;
    opt.user = "";
    opt.domain = "";
    opt.anonymous = true;
    authenticator refuse(policy, db.lookup());
    EXPECT_EQ(run_spnego(refuse, opt, false).last.status, status::logon_failure);

    policy.allow_anonymous = true;
    authenticator allow(policy, db.lookup());
    auto r = run_spnego(allow, opt, false);
    ASSERT_EQ(r.last.status, status::success);
    EXPECT_TRUE(r.last.anonymous);
    EXPECT_FALSE(r.last.guest);
    EXPECT_TRUE(r.last.session_key.empty());
    EXPECT_TRUE(r.last.user.empty());
    EXPECT_EQ(as_resp(r.last.blob).state, spnego::neg_state::accept_completed);
}

TEST_F(authenticator_test, guest_mapping_for_unknown_users_only) {
    policy.allow_guest = true;
    authenticator a(policy, db.lookup());
    client_options unknown;
    unknown.user = "mallory";
    auto r = run_spnego(a, unknown);
    ASSERT_EQ(r.last.status, status::success);
    EXPECT_TRUE(r.last.guest);
    EXPECT_FALSE(r.last.anonymous);
    EXPECT_TRUE(r.last.session_key.empty());
    EXPECT_FALSE(as_resp(r.last.blob).mech_list_mic);

    // A known user with a wrong password is not turned into a guest.
    client_options wrong;
    wrong.password = "nope";
    EXPECT_EQ(run_spnego(a, wrong).last.status, status::logon_failure);
}

TEST_F(authenticator_test, malformed_tokens_fail_cleanly) {
    authenticator a(policy, db.lookup());
    const bytes garbage[] = {
        {0x60, 0x80, 0x00, 0x00},                           // indefinite length
        {0x60, 0x84, 0xff, 0xff, 0xff, 0xff},               // length past the end
        {0xa1, 0x03, 0x30, 0x01},                           // negTokenResp first
        {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 3, 0, 0, 0}, // AUTHENTICATE first
        {0x00},
    };
    for (const auto& g : garbage) {
        auto r = step(a, 0, g);
        EXPECT_EQ(r.status, status::invalid_parameter);
    }
    EXPECT_EQ(a.active_exchanges(), 0u);

    // Second leg garbage, and a negTokenInit where a negTokenResp belongs.
    test_client c;
    auto first = step(a, 0, neg_token_init(c.start()));
    auto r = step(a, first.auth_id, bytes{0xa1, 0x05, 0x30, 0x03, 0xa2, 0x01});
    EXPECT_EQ(r.status, status::invalid_parameter);
    first = step(a, 0, neg_token_init(c.start()));
    r = step(a, first.auth_id, neg_token_init(c.start()));
    EXPECT_EQ(r.status, status::invalid_parameter);
    EXPECT_EQ(a.active_exchanges(), 0u);
}

TEST_F(authenticator_test, unknown_auth_id_is_logon_failure) {
    authenticator a(policy, db.lookup());
    auto r = step(a, 12345, neg_token_init(ntlm::build_negotiate(ntlm::default_client_flags)));
    EXPECT_EQ(r.status, status::logon_failure);
    EXPECT_EQ(r.auth_id, 12345u);
}

TEST_F(authenticator_test, empty_first_blob_gets_the_negotiate_hint) {
    authenticator a(policy, db.lookup());
    auto r = step(a, 0, {});
    EXPECT_EQ(r.status, status::more_processing_required);
    EXPECT_EQ(r.blob, spnego_negotiate_token());
    // The exchange continues normally.
    test_client c;
    auto second = step(a, r.auth_id, neg_token_init(c.start()));
    EXPECT_EQ(second.status, status::more_processing_required);
}

TEST_F(authenticator_test, abandon_and_bounded_pending_exchanges) {
    authenticator a(policy, db.lookup());
    auto first = step(a, 0, neg_token_init(ntlm::build_negotiate(ntlm::default_client_flags)));
    EXPECT_EQ(a.active_exchanges(), 1u);
    a.abandon(first.auth_id);
    EXPECT_EQ(a.active_exchanges(), 0u);

    std::vector<uint64_t> ids;
    for (int i = 0; i < 4100; ++i) {
        ids.push_back(step(a, 0, ntlm::build_negotiate(ntlm::default_client_flags)).auth_id);
    }
    EXPECT_EQ(a.active_exchanges(), 4096u);
    // The oldest were evicted; the newest still run.
    EXPECT_EQ(step(a, ids.front(), bytes{1}).status, status::logon_failure);
    EXPECT_EQ(step(a, ids.back(), bytes{1}).status, status::invalid_parameter);
}

// Writes real tokens as a seed corpus for tests/fuzz/spnego_ntlmssp_fuzz.cc when
// SMBX_WRITE_FUZZ_CORPUS names a directory; still checks the exchange otherwise.
TEST_F(authenticator_test, seed_corpus) {
    authenticator a(policy, db.lookup());
    test_client c;
    bytes init = neg_token_init(c.start());
    auto first = step(a, 0, init);
    auto chal = as_resp(first.blob);
    ASSERT_TRUE(chal.response_token);
    bytes auth = c.authenticate(*chal.response_token);
    bytes fin = final_leg(c, auth, spnego::encode_mech_types({b(spnego::oid_ntlmssp)}));
    EXPECT_EQ(step(a, first.auth_id, fin).status, status::success);

    const char* dir = std::getenv("SMBX_WRITE_FUZZ_CORPUS");
    if (!dir) {
        return;
    }
    auto save = [&](const char* name, const bytes& data) {
        std::ofstream f(std::string(dir) + "/" + name, std::ios::binary);
        f.write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
    };
    save("spnego_init_negotiate", init);
    save("spnego_resp_authenticate_mic", fin);
    save("raw_negotiate", c.negotiate());
    save("raw_authenticate", auth);
    save("spnego_server_hint", spnego_negotiate_token());
    std::vector<bytes> mechs = {b(spnego::oid_ms_kerberos), b(spnego::oid_ntlmssp)};
    save("spnego_init_kerberos_first", neg_token_init(bytes{0x6e, 0x01, 0x00}, mechs));
    spnego::neg_token_resp neg;
    neg.response_token = c.negotiate();
    save("spnego_resp_negotiate", spnego::encode(neg));
}
