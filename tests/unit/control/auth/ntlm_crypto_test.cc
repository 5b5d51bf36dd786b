#include "control/auth/ntlm_crypto.hh"

#include <string_view>

#include <gtest/gtest.h>

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

byte_span text(std::string_view s) {
    return byte_span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

template <typename T> bytes b(const T& c) {
    return bytes(c.begin(), c.end());
}

} // namespace

TEST(ntlm_crypto, hmac_md5_rfc2202) {
    // RFC 2202 test case 2, split across parts to exercise the multi-part form.
    EXPECT_EQ(b(hmac_md5(text("Jefe"), {text("what do ya "), text("want for nothing?")})),
              hex("750c783e6ab0b503eaa86e310a5db738"));
    EXPECT_EQ(b(hmac_md5(bytes(16, 0x0b), {text("Hi There")})),
              hex("9294727a3638bb1c13f48ef8158bfc9d"));
}

TEST(ntlm_crypto, md5_known_answers) {
    EXPECT_EQ(b(md5({})), hex("d41d8cd98f00b204e9800998ecf8427e"));
    EXPECT_EQ(b(md5({text("a"), text("bc")})), hex("900150983cd24fb0d6963f7d28e17f72"));
}

TEST(ntlm_crypto, rc4_known_answers_and_persistent_stream) {
    EXPECT_EQ(rc4(text("Key")).apply(text("Plaintext")), hex("bbf316e8d940af0ad3"));
    // The key stream continues across calls, as MS-NLMP's sealing handle requires.
    rc4 handle(text("Wiki"));
    bytes first = handle.apply(text("ped"));
    bytes second = handle.apply(text("ia"));
    first.insert(first.end(), second.begin(), second.end());
    EXPECT_EQ(first, hex("1021bf0420"));
}

TEST(ntlm_crypto, constant_time_equal) {
    EXPECT_TRUE(constant_time_equal(hex("0102"), hex("0102")));
    EXPECT_FALSE(constant_time_equal(hex("0102"), hex("0103")));
    EXPECT_FALSE(constant_time_equal(hex("0102"), hex("010203")));
    EXPECT_TRUE(constant_time_equal({}, {}));
}

TEST(ntlm_crypto, random_bytes_differ) {
    std::array<uint8_t, 8> a{}, c{};
    random_bytes(a);
    random_bytes(c);
    EXPECT_NE(a, c);
}

TEST(ntlm_crypto, uppercase_utf16) {
    EXPECT_EQ(uppercase_utf16(utf16le("user\xc3\xa9")), utf16le("USER\xc3\x89"));
    EXPECT_EQ(uppercase_utf16(utf16le("\xd0\xb0\xd1\x91")), utf16le("\xd0\x90\xd0\x81"));
}

TEST(ntlm_crypto, ntowf_v2_ms_nlmp_4_2_4_1_1) {
    // NT hash of "Password" (MS-NLMP 4.2.2.1.2), user "User", domain "Domain".
    bytes nt = hex("a4f49c406510bdcab6824ee7c30fd852");
    EXPECT_EQ(b(ntowf_v2(nt, utf16le("User"), utf16le("Domain"))),
              hex("0c868a403bfd7a93a3001ef22ef02e3f"));
    // Only the user is upper-cased.
    EXPECT_EQ(b(ntowf_v2(nt, utf16le("user"), utf16le("Domain"))),
              hex("0c868a403bfd7a93a3001ef22ef02e3f"));
    EXPECT_NE(b(ntowf_v2(nt, utf16le("User"), utf16le("DOMAIN"))),
              hex("0c868a403bfd7a93a3001ef22ef02e3f"));
}

TEST(ntlm_crypto, session_security_ms_nlmp_4_2_4_4) {
    // GSS_WrapEx with NTLMv2 and KEY_EXCH: ExportedSessionKey is RandomSessionKey (0x55..).
    session_security s(bytes(16, 0x55), session_security::direction::client_to_server,
                       session_security::strength::bits_128, true);
    EXPECT_EQ(b(s.signing_key()), hex("4788dc861b4782f35d43fd98fe1a2d39"));
    EXPECT_EQ(b(s.sealing_key()), hex("59f600973cc4960a25480a7c196e4c58"));
    bytes plain = utf16le("Plaintext");
    EXPECT_EQ(s.seal(plain), hex("54e50165bf1936dc996020c1811b0f06fb5f"));
    EXPECT_EQ(b(s.sign(0, plain)), hex("010000007fb38ec5c55d497600000000"));
}

TEST(ntlm_crypto, session_security_ms_nlmp_4_2_3_4) {
    // GSS_WrapEx with NTLMv1 extended session security, 56-bit, no KEY_EXCH: the checksum
    // is not RC4-encrypted and the sealing key uses 7 bytes of the key.
    session_security s(hex("eb93429a8bd952f8b89c55b87f475edc"),
                       session_security::direction::client_to_server,
                       session_security::strength::bits_56, false);
    EXPECT_EQ(b(s.signing_key()), hex("60e799be5c72fc92922ae8ebe961fb8d"));
    EXPECT_EQ(b(s.sealing_key()), hex("04dd7f014d8504d265a25cc86a3a7c06"));
    bytes plain = utf16le("Plaintext");
    EXPECT_EQ(s.seal(plain), hex("a02372f6530273f3aa1eb90190ce5200c99d"));
    EXPECT_EQ(b(s.sign(0, plain)), hex("01000000ff2aeb52f681793a00000000"));
}

TEST(ntlm_crypto, directions_have_different_keys) {
    session_security c(bytes(16, 0x55), session_security::direction::client_to_server,
                       session_security::strength::bits_128, true);
    session_security s(bytes(16, 0x55), session_security::direction::server_to_client,
                       session_security::strength::bits_128, true);
    EXPECT_NE(c.signing_key(), s.signing_key());
    EXPECT_NE(c.sealing_key(), s.sealing_key());
    EXPECT_NE(c.sign(0, text("x")), s.sign(0, text("x")));
}
