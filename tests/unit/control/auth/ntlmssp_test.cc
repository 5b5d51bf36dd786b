#include "control/auth/ntlmssp.hh"

#include <string_view>

#include <gtest/gtest.h>

#include "common/ntstatus.hh"
#include "control/auth/nt_hash.hh"

using namespace smbx;
using namespace smbx::auth;

namespace {

bytes hex(std::string_view s) {
    bytes out;
    for (size_t i = 0; i + 1 < s.size(); i += 2) {
        out.push_back(uint8_t(std::stoi(std::string(s.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

// MS-NLMP 4.2.4.3: the AUTHENTICATE_MESSAGE of the NTLMv2 example (user "User", domain
// "Domain", workstation "COMPUTER", password "Password", server challenge 0123456789abcdef,
// client challenge aaaaaaaaaaaaaaaa, time 0, RandomSessionKey 0x55 * 16 under KEY_EXCH).
const bytes spec_authenticate =
    hex("4e544c4d5353500003000000180018006c00000054005400840000000c000c00"
        "480000000800080054000000100010005c00000010001000d8000000358288e2"
        "0501280a0000000f44006f006d00610069006e00550073006500720043004f00"
        "4d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaa"
        "aaaaaaaa68cd0ab851e51c96aabc927bebef6a1c010100000000000000000000"
        "00000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e00"
        "01000c005300650072007600650072000000000000000000c5dad2544fc97990"
        "94ce1ce90bc9d03e");

const std::array<uint8_t, 8> spec_challenge = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
// The flags of the example's CHALLENGE_MESSAGE (4.2.4), as the client would ask for them.
constexpr uint32_t spec_flags = 0xe28a8233;

struct fixture {
    auth_policy policy;
    hash_lookup lookup = [](std::string_view user) -> std::optional<nt_hash> {
        if (user == "User" || user == "user") {
            return compute_nt_hash("Password");
        }
        return std::nullopt;
    };
};

} // namespace

TEST(ntlmssp, challenge_carries_requested_flags_names_and_target_info) {
    fixture f;
    f.policy.netbios_name = "fileserver";
    f.policy.domain = "lab";
    f.policy.dns_name = "fileserver.lab.example";
    ntlm::server s(f.policy, f.lookup);
    auto chal =
        s.negotiate(ntlm::build_negotiate(spec_flags), spec_challenge, 0x0123456789abcdefull);
    ASSERT_TRUE(chal);
    auto m = ntlm::parse_challenge(*chal);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->server_challenge, spec_challenge);
    using namespace ntlm::flag;
    EXPECT_EQ(m->flags, unicode | sign | seal | ntlm::flag::ntlm | always_sign |
                            target_type_server | extended_session_security | target_info | version |
                            key_128 | key_exch | key_56);
    EXPECT_EQ(m->target_name, utf16le("FILESERVER"));

    auto avs = ntlm::parse_av_pairs(m->target_info);
    ASSERT_TRUE(avs);
    ASSERT_EQ(avs->size(), 5u);
    EXPECT_EQ((*avs)[0].id, ntlm::av_id::nb_domain_name);
    EXPECT_EQ(bytes((*avs)[0].value.begin(), (*avs)[0].value.end()), utf16le("LAB"));
    EXPECT_EQ((*avs)[1].id, ntlm::av_id::nb_computer_name);
    EXPECT_EQ(bytes((*avs)[1].value.begin(), (*avs)[1].value.end()), utf16le("FILESERVER"));
    EXPECT_EQ((*avs)[2].id, ntlm::av_id::dns_domain_name);
    EXPECT_EQ(bytes((*avs)[2].value.begin(), (*avs)[2].value.end()), utf16le("lab.example"));
    EXPECT_EQ((*avs)[3].id, ntlm::av_id::dns_computer_name);
    EXPECT_EQ(bytes((*avs)[3].value.begin(), (*avs)[3].value.end()),
              utf16le("fileserver.lab.example"));
    EXPECT_EQ((*avs)[4].id, ntlm::av_id::timestamp);
    EXPECT_EQ(bytes((*avs)[4].value.begin(), (*avs)[4].value.end()), hex("efcdab8967452301"));
    // The list ends with MsvAvEOL.
    EXPECT_EQ(bytes(m->target_info.end() - 4, m->target_info.end()), hex("00000000"));
}

TEST(ntlmssp, challenge_flags_follow_the_client) {
    fixture f;
    ntlm::server s(f.policy, f.lookup);
    using namespace ntlm::flag;
    auto chal = s.negotiate(ntlm::build_negotiate(oem | ntlm::flag::ntlm | lm_key | anonymous),
                            spec_challenge, 0);
    ASSERT_TRUE(chal);
    auto m = ntlm::parse_challenge(*chal);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->flags, oem | ntlm::flag::ntlm | target_type_server | target_info);
    EXPECT_EQ(m->target_name, bytes({'S', 'M', 'B', 'X'}));
}

TEST(ntlmssp, random_challenges_differ) {
    fixture f;
    ntlm::server a(f.policy, f.lookup), b(f.policy, f.lookup);
    auto ca = ntlm::parse_challenge(*a.negotiate(ntlm::build_negotiate(spec_flags)));
    auto cb = ntlm::parse_challenge(*b.negotiate(ntlm::build_negotiate(spec_flags)));
    ASSERT_TRUE(ca && cb);
    EXPECT_NE(ca->server_challenge, cb->server_challenge);
}

TEST(ntlmssp, ms_nlmp_4_2_4_authenticate_verifies) {
    fixture f;
    ntlm::server s(f.policy, f.lookup);
    ASSERT_TRUE(s.negotiate(ntlm::build_negotiate(spec_flags), spec_challenge, 0));
    EXPECT_EQ(s.authenticate(spec_authenticate), status::success);
    const auto& id = s.result();
    EXPECT_EQ(id.user, "User");
    EXPECT_EQ(id.domain, "Domain");
    EXPECT_FALSE(id.guest);
    EXPECT_FALSE(id.anonymous);
    // KEY_EXCH: RC4(SessionBaseKey 8de40cca.., c5dad254..) is RandomSessionKey.
    EXPECT_EQ(id.session_key, bytes(16, 0x55));
}

TEST(ntlmssp, ms_nlmp_4_2_4_fails_with_another_challenge_or_password) {
    fixture f;
    ntlm::server other_challenge(f.policy, f.lookup);
    auto challenge = spec_challenge;
    challenge[7] ^= 1;
    ASSERT_TRUE(other_challenge.negotiate(ntlm::build_negotiate(spec_flags), challenge, 0));
    EXPECT_EQ(other_challenge.authenticate(spec_authenticate), status::logon_failure);
    EXPECT_TRUE(other_challenge.result().session_key.empty());

    hash_lookup wrong = [](std::string_view) -> std::optional<nt_hash> {
        return compute_nt_hash("password");
    };
    ntlm::server wrong_password(f.policy, wrong);
    ASSERT_TRUE(wrong_password.negotiate(ntlm::build_negotiate(spec_flags), spec_challenge, 0));
    EXPECT_EQ(wrong_password.authenticate(spec_authenticate), status::logon_failure);
}

TEST(ntlmssp, authenticate_only_once_and_only_after_challenge) {
    fixture f;
    ntlm::server s(f.policy, f.lookup);
    EXPECT_EQ(s.authenticate(spec_authenticate), status::logon_failure);
    ntlm::server t(f.policy, f.lookup);
    ASSERT_TRUE(t.negotiate(ntlm::build_negotiate(spec_flags), spec_challenge, 0));
    EXPECT_EQ(t.authenticate(spec_authenticate), status::success);
    EXPECT_EQ(t.authenticate(spec_authenticate), status::logon_failure);
    EXPECT_FALSE(t.negotiate(ntlm::build_negotiate(spec_flags)));
}

TEST(ntlmssp, malformed_authenticate_is_invalid_parameter) {
    fixture f;
    auto run = [&](const bytes& msg) {
        ntlm::server s(f.policy, f.lookup);
        EXPECT_TRUE(s.negotiate(ntlm::build_negotiate(spec_flags), spec_challenge, 0));
        return s.authenticate(msg);
    };
    // Truncated below the fixed part.
    EXPECT_EQ(run(bytes(spec_authenticate.begin(), spec_authenticate.begin() + 63)),
              status::invalid_parameter);
    // Truncated payload: the NT response runs past the end.
    EXPECT_EQ(run(bytes(spec_authenticate.begin(), spec_authenticate.end() - 20)),
              status::invalid_parameter);
    // NtChallengeResponse offset 0xffffffff: offset + length overflows 32 bits.
    bytes overflow = spec_authenticate;
    overflow[24] = overflow[25] = overflow[26] = overflow[27] = 0xff;
    EXPECT_EQ(run(overflow), status::invalid_parameter);
    // Length 0xffff.
    bytes long_len = spec_authenticate;
    long_len[20] = long_len[21] = 0xff;
    EXPECT_EQ(run(long_len), status::invalid_parameter);
    // Odd-length UTF-16 user name.
    bytes odd_user = spec_authenticate;
    odd_user[36] = 7;
    EXPECT_EQ(run(odd_user), status::invalid_parameter);
    // Wrong message type.
    bytes wrong_type = spec_authenticate;
    wrong_type[8] = 1;
    EXPECT_EQ(run(wrong_type), status::invalid_parameter);
}

TEST(ntlmssp, malformed_negotiate_is_refused) {
    fixture f;
    for (bytes msg : {bytes{}, bytes{'N', 'T', 'L', 'M'},
                      bytes(ntlm::signature.begin(), ntlm::signature.end())}) {
        ntlm::server s(f.policy, f.lookup);
        EXPECT_FALSE(s.negotiate(msg));
    }
    bytes challenge_type = ntlm::build_negotiate(spec_flags);
    challenge_type[8] = 2;
    ntlm::server s(f.policy, f.lookup);
    EXPECT_FALSE(s.negotiate(challenge_type));
}

TEST(ntlmssp, av_pairs_bounds) {
    EXPECT_TRUE(ntlm::parse_av_pairs(hex("")));
    auto one = ntlm::parse_av_pairs(hex("01000200410000000000"));
    ASSERT_TRUE(one);
    ASSERT_EQ(one->size(), 1u);
    EXPECT_EQ((*one)[0].id, ntlm::av_id::nb_computer_name);
    EXPECT_EQ((*one)[0].value.size(), 2u);
    // A value running past the end; an EOL cut short.
    EXPECT_FALSE(ntlm::parse_av_pairs(hex("01000400410000")));
    EXPECT_FALSE(ntlm::parse_av_pairs(hex("0100020041000000")));
    // Anything after MsvAvEOL is ignored.
    EXPECT_EQ(ntlm::parse_av_pairs(hex("00000000ffffffff"))->size(), 0u);
}
