#include "control/auth/nt_hash.hh"

#include <string>

#include <gtest/gtest.h>

namespace {

std::string hex(const smbx::auth::nt_hash& h) {
    static const char digits[] = "0123456789abcdef";
    std::string s;
    for (uint8_t b : h) {
        s += digits[b >> 4];
        s += digits[b & 15];
    }
    return s;
}

} // namespace

// MS-NLMP 4.2.2.1.2: NTOWFv1("Password").
TEST(nt_hash, known_vector_password) {
    EXPECT_EQ(hex(smbx::auth::compute_nt_hash("Password")), "a4f49c406510bdcab6824ee7c30fd852");
}

// The well-known NT hash of the empty password.
TEST(nt_hash, empty_password) {
    EXPECT_EQ(hex(smbx::auth::compute_nt_hash("")), "31d6cfe0d16ae931b73c59d7e0c089c0");
}

TEST(nt_hash, case_sensitive_and_deterministic) {
    auto a = smbx::auth::compute_nt_hash("secret");
    EXPECT_EQ(a, smbx::auth::compute_nt_hash("secret"));
    EXPECT_NE(a, smbx::auth::compute_nt_hash("Secret"));
}

// Non-ASCII goes through UTF-16LE: U+00E9 hashes as bytes e9 00 and U+1F600 as a
// surrogate pair (expected values from `openssl dgst -md4` over those bytes).
TEST(nt_hash, non_ascii_uses_utf16) {
    EXPECT_EQ(hex(smbx::auth::compute_nt_hash("\xc3\xa9")), "e77286d072c7858e9110cc3a011d2ac8");
    EXPECT_EQ(hex(smbx::auth::compute_nt_hash("\xf0\x9f\x98\x80")),
              "4b58a10cc20a4e7d808d218e1f80aabc");
}
