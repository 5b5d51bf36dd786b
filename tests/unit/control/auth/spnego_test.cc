#include "control/auth/spnego.hh"

#include <algorithm>
#include <string_view>

#include <gtest/gtest.h>

#include "control/auth/authenticator.hh"
#include "control/auth/der.hh"

using namespace smbx;
using namespace smbx::auth;

namespace {

template <typename T> bytes b(const T& c) {
    return bytes(c.begin(), c.end());
}

bool contains(const bytes& hay, std::string_view needle) {
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

} // namespace

TEST(spnego, negotiate_hint_is_neg_token_init2_with_ntlmssp_only) {
    bytes tok = spnego_negotiate_token();
    EXPECT_LT(tok.size(), 512u);
    // InitialContextToken: [APPLICATION 0] { SPNEGO OID, [0] NegTokenInit2 }.
    ASSERT_GE(tok.size(), 10u);
    EXPECT_EQ(tok[0], 0x60);
    EXPECT_EQ(bytes(tok.begin() + 2, tok.begin() + 10),
              (bytes{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}));
    EXPECT_TRUE(contains(tok, "not_defined_in_RFC4178@please_ignore"));

    auto parsed = spnego::parse(tok);
    ASSERT_TRUE(parsed);
    auto& init = std::get<spnego::neg_token_init>(*parsed);
    ASSERT_EQ(init.mech_types.size(), 1u);
    EXPECT_EQ(init.mech_types[0], b(spnego::oid_ntlmssp));
    EXPECT_FALSE(init.mech_token);
}

TEST(spnego, client_init_round_trip) {
    spnego::neg_token_init init;
    init.mech_types = {b(spnego::oid_ms_kerberos), b(spnego::oid_ntlmssp)};
    init.mech_token = bytes(300, 0x42); // long enough for a two-byte length
    bytes tok = spnego::encode(init);

    auto parsed = spnego::parse(tok);
    ASSERT_TRUE(parsed);
    auto& got = std::get<spnego::neg_token_init>(*parsed);
    EXPECT_EQ(got.mech_types, init.mech_types);
    EXPECT_EQ(got.mech_token, init.mech_token);
    EXPECT_EQ(got.mech_types_der, spnego::encode_mech_types(init.mech_types));
    EXPECT_EQ(got.mech_types_der[0], der::tag_sequence);
}

TEST(spnego, resp_round_trip) {
    spnego::neg_token_resp resp;
    resp.state = spnego::neg_state::request_mic;
    resp.supported_mech = b(spnego::oid_ntlmssp);
    resp.response_token = bytes{1, 2, 3};
    resp.mech_list_mic = bytes(16, 7);
    auto parsed = spnego::parse(spnego::encode(resp));
    ASSERT_TRUE(parsed);
    auto& got = std::get<spnego::neg_token_resp>(*parsed);
    EXPECT_EQ(got.state, resp.state);
    EXPECT_EQ(got.supported_mech, resp.supported_mech);
    EXPECT_EQ(got.response_token, resp.response_token);
    EXPECT_EQ(got.mech_list_mic, resp.mech_list_mic);

    spnego::neg_token_resp empty;
    auto parsed_empty = spnego::parse(spnego::encode(empty));
    ASSERT_TRUE(parsed_empty);
    EXPECT_FALSE(std::get<spnego::neg_token_resp>(*parsed_empty).state);
}

TEST(spnego, resp_known_encoding) {
    // accept-completed with a 16-byte MIC, as Windows sends it.
    spnego::neg_token_resp resp;
    resp.state = spnego::neg_state::accept_completed;
    resp.mech_list_mic = bytes(16, 0);
    bytes want = {0xa1, 0x1b, 0x30, 0x19, 0xa0, 0x03, 0x0a, 0x01, 0x00, 0xa3, 0x12, 0x04, 0x10};
    want.resize(want.size() + 16, 0);
    EXPECT_EQ(spnego::encode(resp), want);
}

TEST(spnego, rejects_malformed_tokens) {
    spnego::neg_token_init init;
    init.mech_types = {b(spnego::oid_ntlmssp)};
    init.mech_token = bytes{1, 2, 3};
    bytes good = spnego::encode(init);

    // Every truncation fails cleanly.
    for (size_t n = 0; n < good.size(); ++n) {
        EXPECT_FALSE(spnego::parse(byte_span(good).first(n))) << n;
    }
    // Trailing garbage.
    bytes trailing = good;
    trailing.push_back(0);
    EXPECT_FALSE(spnego::parse(trailing));
    // Wrong outer OID.
    bytes wrong_oid = good;
    wrong_oid[4] ^= 1;
    EXPECT_FALSE(spnego::parse(wrong_oid));
    // Empty mechanism list.
    init.mech_types.clear();
    EXPECT_FALSE(spnego::parse(spnego::encode(init)));
    // negState out of range.
    bytes bad_state = {0xa1, 0x07, 0x30, 0x05, 0xa0, 0x03, 0x0a, 0x01, 0x09};
    EXPECT_FALSE(spnego::parse(bad_state));
    // Fields out of order.
    bytes out_of_order = {0xa1, 0x0c, 0x30, 0x0a, 0xa2, 0x03, 0x04,
                          0x01, 0x00, 0xa0, 0x03, 0x0a, 0x01, 0x01};
    EXPECT_FALSE(spnego::parse(out_of_order));
    // Other top-level tags.
    EXPECT_FALSE(spnego::parse(bytes{0x30, 0x00}));
    EXPECT_FALSE(spnego::parse(bytes{}));
}
