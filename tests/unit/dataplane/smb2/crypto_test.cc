#include "dataplane/smb2/crypto.hh"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace smbx::smb2::crypto {
namespace {

bytes from_hex(std::string_view hex) {
    auto nibble = [](char c) -> uint8_t {
        if (c >= '0' && c <= '9') {
            return uint8_t(c - '0');
        }
        if (c >= 'a' && c <= 'f') {
            return uint8_t(c - 'a' + 10);
        }
        if (c >= 'A' && c <= 'F') {
            return uint8_t(c - 'A' + 10);
        }
        throw std::invalid_argument("bad hex");
    };
    bytes out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(uint8_t(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
    }
    return out;
}

// The value of a crypto call expected to succeed (a failure fails the test).
template <typename T> T ok(std::optional<T> v) {
    EXPECT_TRUE(v.has_value());
    return v ? std::move(*v) : T{};
}

template <size_t N> bytes to_bytes(const std::array<uint8_t, N>& a) {
    return bytes(a.begin(), a.end());
}

// Labels and contexts of MS-SMB2 3.1.4.2 include their terminating NUL.
bytes label(std::string_view s) {
    bytes b(s.begin(), s.end());
    b.push_back(0);
    return b;
}

// --- Independent one-shot OpenSSL computations, each checked against a published vector
// --- below, used as oracles for what our cached-context code must produce.

bytes oracle_mac(const char* mac, const char* sub, byte_span key, byte_span data) {
    std::array<uint8_t, 64> out{};
    size_t n = 0;
    if (!EVP_Q_mac(nullptr, mac, nullptr, sub, nullptr, key.data(), key.size(), data.data(),
                   data.size(), out.data(), out.size(), &n)) {
        throw std::runtime_error("EVP_Q_mac");
    }
    return bytes(out.begin(), out.begin() + n);
}

bytes oracle_gmac(byte_span key, byte_span nonce, byte_span aad) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    int n = 0;
    uint8_t none[16];
    bytes tag(16);
    bool ok = EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nullptr, nullptr, nullptr) &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, int(nonce.size()), nullptr) &&
              EVP_EncryptInit_ex(ctx, nullptr, nullptr, key.data(), nonce.data()) &&
              (aad.empty() || EVP_EncryptUpdate(ctx, nullptr, &n, aad.data(), int(aad.size()))) &&
              EVP_EncryptFinal_ex(ctx, none, &n) &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag.data());
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        throw std::runtime_error("gmac oracle");
    }
    return tag;
}

bytes oracle_kbkdf(byte_span key, byte_span lbl, byte_span ctx_bytes, size_t len) {
    EVP_KDF* kdf_alg = EVP_KDF_fetch(nullptr, "KBKDF", nullptr);
    EVP_KDF_CTX* kctx = EVP_KDF_CTX_new(kdf_alg);
    char mode[] = "counter", mac[] = "HMAC", digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_MODE, mode, 0),
        OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_MAC, mac, 0),
        OSSL_PARAM_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_octet_string(OSSL_KDF_PARAM_KEY, const_cast<uint8_t*>(key.data()), key.size()),
        OSSL_PARAM_octet_string(OSSL_KDF_PARAM_SALT, const_cast<uint8_t*>(lbl.data()), lbl.size()),
        OSSL_PARAM_octet_string(OSSL_KDF_PARAM_INFO, const_cast<uint8_t*>(ctx_bytes.data()),
                                ctx_bytes.size()),
        OSSL_PARAM_END};
    bytes out(len);
    int ok = EVP_KDF_derive(kctx, out.data(), out.size(), params);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf_alg);
    if (ok != 1) {
        throw std::runtime_error("KBKDF oracle");
    }
    return out;
}

// The message as MS-SMB2 3.1.4.1 signs it: Signature field zeroed.
bytes zero_signature_field(bytes m) {
    std::fill(m.begin() + 48, m.begin() + 64, 0);
    return m;
}

bytes make_message(command cmd, uint32_t flags, uint64_t message_id, size_t body_size) {
    header h;
    h.cmd = cmd;
    h.flags = flags;
    h.message_id = message_id;
    h.credits = 1;
    h.tree_id = 7;
    h.session_id = 0x0000100000000025ull;
    for (size_t i = 0; i < h.signature.size(); ++i) {
        h.signature[i] = uint8_t(0xA0 + i); // junk the signer must ignore
    }
    byte_writer w;
    write_header(w, h);
    for (size_t i = 0; i < body_size; ++i) {
        w.u8(uint8_t(i * 7 + 3));
    }
    return w.take();
}

bytes key16(uint8_t seed) {
    bytes k(16);
    for (size_t i = 0; i < k.size(); ++i) {
        k[i] = uint8_t(seed + i * 13);
    }
    return k;
}

bytes key_for(cipher c, uint8_t seed) {
    bytes k(cipher_key_size(c));
    for (size_t i = 0; i < k.size(); ++i) {
        k[i] = uint8_t(seed * 31 + i);
    }
    return k;
}

const std::vector<cipher> all_ciphers = {cipher::aes128_ccm, cipher::aes128_gcm, cipher::aes256_ccm,
                                         cipher::aes256_gcm};
const std::vector<signing_algorithm> all_signing = {
    signing_algorithm::hmac_sha256, signing_algorithm::aes_cmac, signing_algorithm::aes_gmac};

// ---------------------------------------------------------------------------------------
// Key derivation (MS-SMB2 3.1.4.2)

// "Encryption in SMB 3.0: A protocol perspective" (Microsoft Open Specifications blog,
// 2012): SessionKey, then the client's EncryptionKey (server's DecryptionKey) and the
// client's DecryptionKey (server's EncryptionKey).
TEST(smb2_crypto_kdf, smb300_encryption_keys_from_microsoft_blog) {
    auto session_key = from_hex("B4546771B515F766A86735532DD6C4F0");
    EXPECT_EQ(ok(kdf(session_key, label("SMB2AESCCM"), label("ServerIn "), 16)),
              from_hex("261B72350558F2E9DCF613070383EDBF"));
    EXPECT_EQ(ok(kdf(session_key, label("SMB2AESCCM"), label("ServerOut"), 16)),
              from_hex("8FE2B57EC34D2DB5B1A9727F526BBDB5"));
}

// "SMB 3.1.1 Encryption in Windows 10" (Microsoft Open Specifications blog, 2015).
TEST(smb2_crypto_kdf, smb311_cipher_keys_from_microsoft_blog) {
    auto session_key = from_hex("419FDDF34C1E001909D362AE7FB6AF79");
    auto preauth = from_hex("B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDB"
                            "A7DB256BA2EA30E977F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770");
    EXPECT_EQ(ok(kdf(session_key, label("SMBC2SCipherKey"), preauth, 16)),
              from_hex("A2F5E80E5D59103034F32E52F698E5EC"));
    EXPECT_EQ(ok(kdf(session_key, label("SMBS2CCipherKey"), preauth, 16)),
              from_hex("748C50868C90F302962A5C35F5F9A8BF"));
}

// Outputs longer than one HMAC block use counter i = 2, 3, ... and L covers the whole
// output; OpenSSL's own SP800-108 KBKDF (counter mode, separator and L on) is the oracle.
TEST(smb2_crypto_kdf, multi_block_output_matches_sp800_108_kbkdf) {
    auto key = key16(5);
    for (size_t len : {1u, 16u, 32u, 33u, 64u, 100u}) {
        auto got = ok(kdf(key, label("SMBSigningKey"), label("context"), len));
        EXPECT_EQ(got, oracle_kbkdf(key, label("SMBSigningKey"), label("context"), len)) << len;
    }
    // L is part of the PRF input: a shorter key is not a prefix of a longer one.
    auto k16 = ok(kdf(key, label("SMB2AESCMAC"), label("SmbSign"), 16));
    auto k32 = ok(kdf(key, label("SMB2AESCMAC"), label("SmbSign"), 32));
    EXPECT_NE(k16, bytes(k32.begin(), k32.begin() + 16));
    EXPECT_TRUE(ok(kdf(key, label("x"), label("y"), 0)).empty());
}

// ---------------------------------------------------------------------------------------
// Preauth integrity (MS-SMB2 3.3.5.4, 3.3.5.5)

// "SMB 3.1.1 Pre-authentication integrity in Windows 10" (Microsoft Open Specifications
// blog, 2015): every message of a NEGOTIATE + NTLM SESSION_SETUP exchange, the hash after
// each one, and the SigningKey derived from the final hash.
TEST(smb2_crypto_preauth, microsoft_blog_exchange_and_signing_key) {
    const char* messages[] = {
        // NEGOTIATE request
        "FE534D4240000100000000000000800000000000000000000100000000000000FFFE000000000000"
        "00000000000000000000000000000000000000000000000024000500000000003F000000ECD86F32"
        "6276024F9F7752B89BB33F3A70000000020000000202100200030203110300000100260000000000"
        "010020000100FA49E6578F1F3A9F4CD3E9CC14A67AA884B3D05844E0E5A118225C15887F32FF0000"
        "0200060000000000020002000100",
        // NEGOTIATE response
        "FE534D4240000100000000000000010001000000000000000100000000000000FFFE000000000000"
        "000000000000000000000000000000000000000000000000410001001103020039CBCAF329714942"
        "BDCE5D60F09AB3FB2F000000000080000000800000008000D8DAE5ADCBAED00109094AB095AED001"
        "80004001C00100006082013C06062B0601050502A08201303082012CA01A3018060A2B0601040182"
        "3702021E060A2B06010401823702020AA282010C048201084E45474F455854530100000000000000"
        "60000000700000007C7CC0FD06D6362D02DDE1CF343BFE292900F49750B4AA97934D9C4296B26E51"
        "FD370471B235E15A50DAE15BD5489C87000000000000000060000000010000000000000000000000"
        "5C33530DEAF90D4DB2EC4AE3786EC3084E45474F4558545303000000010000004000000098000000"
        "7C7CC0FD06D6362D02DDE1CF343BFE295C33530DEAF90D4DB2EC4AE3786EC3084000000058000000"
        "3056A05430523027802530233121301F06035504031318546F6B656E205369676E696E6720507562"
        "6C6963204B65793027802530233121301F06035504031318546F6B656E205369676E696E67205075"
        "626C6963204B6579010026000000000001002000010060A3C3B95C3C7CCD51EC536648D9B3AC74C4"
        "83CA5B65385A251117BEB30712E50000020004000000000001000200",
        // SESSION_SETUP request 1
        "FE534D4240000100000000000100800000000000000000000200000000000000FFFE000000000000"
        "00000000000000000000000000000000000000000000000019000001010000000000000058004A00"
        "0000000000000000604806062B0601050502A03E303CA00E300C060A2B06010401823702020AA22A"
        "04284E544C4D5353500001000000978208E200000000000000000000000000000000060380250000"
        "000F",
        // SESSION_SETUP response 1 (STATUS_MORE_PROCESSING_REQUIRED)
        "FE534D4240000100160000C00100010001000000000000000200000000000000FFFE000000000000"
        "190000000010000000000000000000000000000000000000090000004800B300A181B03081ADA003"
        "0A0101A10C060A2B06010401823702020AA281970481944E544C4D53535000020000000C000C0038"
        "00000015828AE20D1D8BA31179D008000000000000000050005000440000000A0092270000000F53"
        "005500540033003100310002000C0053005500540033003100310001000C00530055005400330031"
        "00310004000C0053005500540033003100310003000C0053005500540033003100310007000800A1"
        "A1F5ADCBAED00100000000",
        // SESSION_SETUP request 2
        "FE534D4240000100000000000100800000000000000000000300000000000000FFFE000000000000"
        "1900000000100000000000000000000000000000000000001900000101000000000000005800CF01"
        "0000000000000000A18201CB308201C7A0030A0101A28201AA048201A64E544C4D53535000030000"
        "001800180090000000EE00EE00A80000000C000C00580000001A001A0064000000120012007E0000"
        "001000100096010000158288E2060380250000000FECAC77A5F385A8BF9C38C706EEEDDCD3530055"
        "005400330031003100610064006D0069006E006900730074007200610074006F0072004400520049"
        "0056004500520033003100310000000000000000000000000000000000000000000000000063078E"
        "B639FE03E20A231C3AE3BF23080101000000000000A1A1F5ADCBAED001BC4AD05F223CC90F000000"
        "0002000C0053005500540033003100310001000C0053005500540033003100310004000C00530055"
        "00540033003100310003000C0053005500540033003100310007000800A1A1F5ADCBAED001060004"
        "00020000000800300030000000000000000000000000300000B61FEFCAA857EA57BF1EDCEBF8974B"
        "8E0EBA5A6DFD9D07A31D11B548F8C9D0CC0A00100000000000000000000000000000000000090016"
        "0063006900660073002F005300550054003300310031000000000000000000000000003B9BDFF38F"
        "5EE8F9663F11A0F4C03A78A31204100100000063775A9A5FD97F0600000000",
    };
    const char* hashes[] = {
        "DD94EFC5321BB618A2E208BA8920D2F422992526947A409B5037DE1E0FE8C736"
        "2B8C47122594CDE0CE26AA9DFC8BCDBDE0621957672623351A7540F1E54A0426",
        "324BFA92A4F3A190E466EBEA08D9C110DC88BFED758D9846ECC6F541CC1D02AE"
        "3C94A79F36011E997E13F841B91B50957AD07B19C8E2539C0B23FDAE09D2C513",
        "AC0B0F2B9986257700365E416D142A6EDC96DF03594A19E52A15F6BD0D041CD5"
        "D432F8ED42C55E33197A50C9EC00F1462B50C592211B1471A04B56088FDFD5F9",
        "2729E3440DFDDD839E37193F6E8F20C20CEFB3469E453A70CD980EEC06B88357"
        "40A73760085633364C8989895ECE81BF102DEEB14D4B7D48AFA76901A7A38387",
        "0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB79"
        "28622DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01",
    };
    preauth_hash h{}; // MS-SMB2 3.2.5.2 / 3.3.5.4: starts as 64 zero bytes
    for (size_t i = 0; i < std::size(messages); ++i) {
        EXPECT_TRUE(preauth_update(h, from_hex(messages[i])));
        EXPECT_EQ(to_bytes(h), from_hex(hashes[i])) << "after message " << i;
    }
    auto session_key = from_hex("270E1BA896585EEB7AF3472D3B4C75A7");
    EXPECT_EQ(ok(kdf(session_key, label("SMBSigningKey"), to_bytes(h), 16)),
              from_hex("73FE7A9A77BEF0BDE49C650D8CCB5F76"));
}

// ---------------------------------------------------------------------------------------
// Signing (MS-SMB2 3.1.4.1)

// The oracles themselves against the primitives' published vectors.
TEST(smb2_crypto_signing, oracles_match_published_primitive_vectors) {
    // RFC 4231 test cases 1 and 2 (HMAC-SHA256).
    EXPECT_EQ(oracle_mac("HMAC", "SHA256", bytes(20, 0x0b),
                         bytes{'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'}),
              from_hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
    std::string_view tc2 = "what do ya want for nothing?";
    EXPECT_EQ(
        oracle_mac("HMAC", "SHA256", bytes{'J', 'e', 'f', 'e'}, bytes(tc2.begin(), tc2.end())),
        from_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
    // RFC 4493 section 4, examples 1, 2 and 4 (AES-CMAC).
    auto k = from_hex("2b7e151628aed2a6abf7158809cf4f3c");
    EXPECT_EQ(oracle_mac("CMAC", "AES-128-CBC", k, bytes{}),
              from_hex("bb1d6929e95937287fa37d129b756746"));
    EXPECT_EQ(oracle_mac("CMAC", "AES-128-CBC", k, from_hex("6bc1bee22e409f96e93d7e117393172a")),
              from_hex("070a16b46b4d4144f79bdd9dd04a287c"));
    EXPECT_EQ(
        oracle_mac("CMAC", "AES-128-CBC", k,
                   from_hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                            "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")),
        from_hex("51f0bebf7e3b9d92fc49741779363cfe"));
    // GCM with empty plaintext: McGrew & Viega, "The Galois/Counter Mode of Operation",
    // test case 1; NIST CAVP gcmEncryptExtIV128 [PTlen = 0][AADlen = 128] count 0.
    EXPECT_EQ(oracle_gmac(bytes(16, 0), bytes(12, 0), bytes{}),
              from_hex("58e2fccefa7e3061367f1d57a4e7455a"));
    EXPECT_EQ(oracle_gmac(from_hex("77be63708971c4e240d1cb79e8d77feb"),
                          from_hex("e0e00f19fed7ba0136a797f3"),
                          from_hex("7a43ec1d9c0a5a78a0b16533a6213cab")),
              from_hex("209fcc8d3675ed938e9c7166709dd946"));
}

TEST(smb2_crypto_signing, hmac_sha256_is_first_16_bytes_over_zeroed_field) {
    auto key = key16(1);
    for (size_t body : {0u, 1u, 40u, 5000u}) {
        auto m = make_message(command::read, flag_server_to_redir, 9, body);
        auto expect = oracle_mac("HMAC", "SHA256", key, zero_signature_field(m));
        auto sig = ok(compute_signature(signing_algorithm::hmac_sha256, key, m));
        EXPECT_EQ(to_bytes(sig), bytes(expect.begin(), expect.begin() + 16)) << body;
    }
    // 2.x signs with the 16-byte session key, but HMAC takes any length.
    auto long_key = bytes(40, 0x5a);
    auto m = make_message(command::write, 0, 3, 10);
    auto expect = oracle_mac("HMAC", "SHA256", long_key, zero_signature_field(m));
    EXPECT_EQ(to_bytes(ok(compute_signature(signing_algorithm::hmac_sha256, long_key, m))),
              bytes(expect.begin(), expect.begin() + 16));
}

TEST(smb2_crypto_signing, aes_cmac_over_zeroed_field) {
    auto key = key16(2);
    for (size_t body : {0u, 1u, 16u, 47u, 70000u}) {
        auto m = make_message(command::create, 0, 77, body);
        auto expect = oracle_mac("CMAC", "AES-128-CBC", key, zero_signature_field(m));
        EXPECT_EQ(to_bytes(ok(compute_signature(signing_algorithm::aes_cmac, key, m))), expect)
            << body;
    }
}

bytes gmac_nonce(uint64_t message_id, uint8_t role_and_cancel) {
    bytes n(12, 0);
    for (size_t i = 0; i < 8; ++i) {
        n[i] = uint8_t(message_id >> (8 * i));
    }
    n[8] = role_and_cancel;
    return n;
}

TEST(smb2_crypto_signing, aes_gmac_nonce_is_message_id_role_and_cancel) {
    auto key = key16(3);
    const uint64_t mid = 0x1122334455667788ull;
    struct row {
        command cmd;
        uint32_t flags;
        uint8_t nonce_bits;
    } rows[] = {
        {command::write, 0, 0x0},
        {command::write, flag_server_to_redir, 0x1},
        {command::cancel, 0, 0x2},
        {command::cancel, flag_server_to_redir | flag_async_command, 0x3},
    };
    for (const auto& r : rows) {
        auto m = make_message(r.cmd, r.flags, mid, 33);
        auto sig = to_bytes(ok(compute_signature(signing_algorithm::aes_gmac, key, m)));
        auto aad = zero_signature_field(m);
        EXPECT_EQ(sig, oracle_gmac(key, gmac_nonce(mid, r.nonce_bits), aad)) << int(r.nonce_bits);
        // Same bytes, other role or cancel bits: a different tag.
        for (uint8_t other = 0; other < 4; ++other) {
            if (other != r.nonce_bits) {
                EXPECT_NE(sig, oracle_gmac(key, gmac_nonce(mid, other), aad));
            }
        }
    }
}

// A request and its response share MessageId; the role bit keeps their nonces apart.
TEST(smb2_crypto_signing, aes_gmac_request_and_response_use_different_nonces) {
    auto key = key16(4);
    auto request = make_message(command::read, 0, 42, 20);
    auto response = request;
    response[16] |= uint8_t(flag_server_to_redir);
    auto req_sig = to_bytes(ok(compute_signature(signing_algorithm::aes_gmac, key, request)));
    auto resp_sig = to_bytes(ok(compute_signature(signing_algorithm::aes_gmac, key, response)));
    EXPECT_NE(req_sig, resp_sig);
    EXPECT_EQ(req_sig, oracle_gmac(key, gmac_nonce(42, 0), zero_signature_field(request)));
    EXPECT_EQ(resp_sig, oracle_gmac(key, gmac_nonce(42, 1), zero_signature_field(response)));
}

TEST(smb2_crypto_signing, sign_then_verify_and_any_changed_byte_fails) {
    for (auto alg : all_signing) {
        auto key = key16(uint8_t(10 + int(alg)));
        auto m = make_message(command::query_info, flag_signed, 1234, 60);
        ASSERT_TRUE(sign_in_place(alg, key, m));
        ASSERT_TRUE(verify_signature(alg, key, m)) << int(alg);
        for (size_t i = 0; i < m.size(); ++i) {
            m[i] ^= 0x01;
            EXPECT_FALSE(verify_signature(alg, key, m)) << int(alg) << " byte " << i;
            m[i] ^= 0x01;
        }
        EXPECT_TRUE(verify_signature(alg, key, m));
        auto other_key = key;
        other_key[15] ^= 0x80;
        EXPECT_FALSE(verify_signature(alg, other_key, m));
        // A trailing byte is part of the signed message.
        auto longer = m;
        longer.push_back(0);
        EXPECT_FALSE(verify_signature(alg, key, longer));
    }
}

TEST(smb2_crypto_signing, signature_field_is_ignored_and_left_alone) {
    for (auto alg : all_signing) {
        auto key = key16(20);
        auto m = make_message(command::echo, 0, 5, 4);
        auto before = m;
        auto sig = ok(compute_signature(alg, key, m));
        EXPECT_EQ(m, before); // compute does not touch the message
        auto zeroed = zero_signature_field(m);
        EXPECT_EQ(sig, ok(compute_signature(alg, key, zeroed)));
        ASSERT_TRUE(sign_in_place(alg, key, m));
        EXPECT_EQ(bytes(m.begin() + 48, m.begin() + 64), to_bytes(sig));
        EXPECT_EQ(bytes(m.begin(), m.begin() + 48), bytes(before.begin(), before.begin() + 48));
        EXPECT_EQ(bytes(m.begin() + 64, m.end()), bytes(before.begin() + 64, before.end()));
    }
}

TEST(smb2_crypto_signing, short_message_and_bad_keys) {
    bytes short_msg(63, 0);
    EXPECT_FALSE(verify_signature(signing_algorithm::aes_cmac, key16(1), short_msg));
    EXPECT_FALSE(compute_signature(signing_algorithm::aes_cmac, key16(1), short_msg));
    auto m = make_message(command::echo, 0, 1, 4);
    EXPECT_FALSE(compute_signature(signing_algorithm::aes_cmac, bytes(32, 1), m));
    EXPECT_FALSE(compute_signature(signing_algorithm::aes_gmac, bytes(8, 1), m));
    EXPECT_FALSE(compute_signature(signing_algorithm(0x7777), key16(1), m));
    // A message that cannot be signed is left as it was, and does not verify.
    auto before = m;
    EXPECT_FALSE(sign_in_place(signing_algorithm::aes_gmac, bytes(8, 1), m));
    EXPECT_EQ(m, before);
    EXPECT_FALSE(verify_signature(signing_algorithm::aes_cmac, bytes(32, 1), m));
}

// ---------------------------------------------------------------------------------------
// Encryption (MS-SMB2 2.2.41, 3.1.4.3)

struct published_message {
    const char* source;
    cipher c;
    const char* session_key;
    const char* label;
    const char* context_hex; // empty: ASCII context in `context_text`
    const char* context_text;
    const char* transformed;
    const char* plaintext;
};

// Transformed messages and their plaintexts as published by Microsoft. Their nonces are
// fixed, so our encrypt (which draws its own nonce) cannot reproduce them byte for byte;
// decrypting them checks the same AAD layout, nonce use and tag placement.
const published_message published[] = {
    {"Encryption in SMB 3.0: A protocol perspective (client WRITE request)", cipher::aes128_ccm,
     "B4546771B515F766A86735532DD6C4F0", "SMB2AESCCM", "", "ServerIn ",
     "FD534D4281A286535415445DAE393921E44FA42E66E69A111892584FB5ED524A"
     "744DA3EE87000000000001001100001400E4080025C8FEE16605A437832D1CD5"
     "2DA9F4645333482A175FE5384563F45FCDAFAEF38BC62BA4D5C62897996625A4"
     "4C29BE5658DE2E6117585779E7B59FFD971278D08580D7FA899E410E910EABF5"
     "AA1DB43050B33B49182637759AC15D84BFCDF5B6B238993C0F4CF4D6012023F6"
     "C627297075D84B7803912D0A9639634453595EF3E33FFE4E7AC2AB",
     "FE534D4240000100000000000900400008000000000000000400000000000000"
     "FFFE0000010000001100001400E4080000000000000000000000000000000000"
     "3100700017000000000000000000000015010000390000020100000039020000"
     "00000000000000007000000000000000536D623320656E6372797074696F6E20"
     "74657374696E67"},
    {"Encryption in SMB 3.0: A protocol perspective (server WRITE response)", cipher::aes128_ccm,
     "B4546771B515F766A86735532DD6C4F0", "SMB2AESCCM", "", "ServerOut",
     "FD534D42A6015530A18F6D9AFFE22AFAE8E66484860000000000000011000014"
     "00E4080050000000000001001100001400E40800DBF46435C5F14169293CE079"
     "E344479BF670227E49873F458672C3098DAC467DD5809F369D67409166515787"
     "1483E01F7BECD02064EAC3E235F913668BBC2F097980D4B378F1993EFF6E60D1"
     "77309E5B",
     "FE534D4240000100000000000900210009000000000000000400000000000000"
     "FFFE0000010000001100001400E4080000000000000000000000000000000000"
     "11000000170000000000000000000000"},
    {"SMB 3.1.1 Encryption in Windows 10 (client WRITE request)", cipher::aes128_gcm,
     "419FDDF34C1E001909D362AE7FB6AF79", "SMBC2SCipherKey",
     "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDB"
     "A7DB256BA2EA30E977F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770",
     "",
     "FD534D42BD73D97D2BC9001BCAFAC0FDFF5FEEBCC7D6822D269CAF48904C664C0000000087000000"
     "0000010025000000001000006ECDD2A7AFC7B47763057A041B8FD4DAFFE990B70C9E09D36C084E02"
     "D14EF247F8BDE38ACF6256F8B1D3B56F77FBDEB312FEA5E92CBCC1ED8FB2EBBFAA75E49A4A394BB4"
     "4576545567C24D4C014D47C9FBDFDAFD2C4F9B72F8D256452620A299F48E29E53D6B61D1C13A19E9"
     "1AF013F00D17E3ABC2FC3D36C8C1B6B93973253852DBD442E46EE8",
     "FE534D4240000100000000000900010008000000000000000500000000000000FFFE000001000000"
     "25000000001000000000000000000000000000000000000031007000170000000000000000000000"
     "0600000004000000010000000400000000000000000000007000000000000000536D623320656E63"
     "72797074696F6E2074657374696E67"},
    {"SMB 3.1.1 Encryption in Windows 10 (server WRITE response)", cipher::aes128_gcm,
     "419FDDF34C1E001909D362AE7FB6AF79", "SMBS2CCipherKey",
     "B23F3CBFD69487D9832B79B1594A367CDD950909B774C3A4C412B4FCEA9EDDDB"
     "A7DB256BA2EA30E977F11F9B113247578E0E915C6D2A513B8F2FCA5707DC8770",
     "",
     "FD534D42ACBE1CB7ED343ADF1725EF144D90D4B0E06831DD2E8EB7B4000000000000000050000000"
     "00000100250000000010000026BBBF949983A6C1C796559D0F2C510CB651D1F7B6AC8DED32A2A0B8"
     "F2D793A815C6F6B848D69767A215841A42D400AE6DDB5F0B44173A014973321FDD7950DA6179159B"
     "82E03C9E18A050FF0EA1C967",
     "FE534D4240000100000000000900010001000000000000000500000000000000FFFE000001000000"
     "25000000001000000000000000000000000000000000000011000000170000000000000000000000"},
};

bytes derive_published_key(const published_message& p) {
    bytes context = *p.context_hex ? from_hex(p.context_hex) : label(p.context_text);
    return ok(kdf(from_hex(p.session_key), label(p.label), context, 16));
}

TEST(smb2_crypto_encryption, decrypts_microsoft_published_messages) {
    for (const auto& p : published) {
        auto key = derive_published_key(p);
        auto got = decrypt_message(p.c, key, from_hex(p.transformed));
        ASSERT_TRUE(got.has_value()) << p.source;
        EXPECT_EQ(*got, from_hex(p.plaintext)) << p.source;
    }
    // Again, interleaved, so each key goes through a cached context a second time.
    for (int round = 0; round < 3; ++round) {
        for (const auto& p : published) {
            auto got = decrypt_message(p.c, derive_published_key(p), from_hex(p.transformed));
            ASSERT_TRUE(got.has_value()) << p.source << " round " << round;
            EXPECT_EQ(*got, from_hex(p.plaintext));
        }
    }
}

TEST(smb2_crypto_encryption, published_messages_with_one_byte_changed_are_rejected) {
    for (const auto& p : published) {
        auto key = derive_published_key(p);
        auto m = from_hex(p.transformed);
        for (size_t i = 0; i < m.size(); ++i) {
            m[i] ^= 0x04;
            EXPECT_FALSE(decrypt_message(p.c, key, m).has_value()) << p.source << " byte " << i;
            m[i] ^= 0x04;
        }
        EXPECT_TRUE(decrypt_message(p.c, key, m).has_value());
    }
}

TEST(smb2_crypto_encryption, transform_header_layout) {
    for (auto c : all_ciphers) {
        auto key = key_for(c, 1);
        auto plain = make_message(command::read, flag_server_to_redir, 8, 100);
        auto out = ok(encrypt_message(c, key, 0x0123456789ABCDEFull, plain));
        ASSERT_EQ(out.size(), transform_header_size + plain.size());
        transform_header t;
        ASSERT_TRUE(parse_transform_header(out, t));
        EXPECT_EQ(t.original_message_size, plain.size());
        EXPECT_EQ(t.flags, 0x0001);
        EXPECT_EQ(t.session_id, 0x0123456789ABCDEFull);
        EXPECT_EQ(out[40], 0); // Reserved
        EXPECT_EQ(out[41], 0);
        // CCM uses the first 11 nonce bytes, GCM the first 12; the rest are zero.
        size_t used = (c == cipher::aes128_ccm || c == cipher::aes256_ccm) ? 11 : 12;
        for (size_t i = used; i < 16; ++i) {
            EXPECT_EQ(t.nonce[i], 0) << "cipher " << int(c) << " nonce byte " << i;
        }
        // The ciphertext is not the plaintext.
        EXPECT_NE(bytes(out.begin() + transform_header_size, out.end()), plain);
    }
}

TEST(smb2_crypto_encryption, round_trip_every_cipher_and_size) {
    for (auto c : all_ciphers) {
        auto key = key_for(c, 2);
        for (size_t body : {0u, 1u, 15u, 16u, 4032u, 65536u, (1u << 20) + 3}) {
            auto plain = make_message(command::write, 0, body, body);
            auto sealed = ok(encrypt_message(c, key, 77, plain));
            auto opened = decrypt_message(c, key, sealed);
            ASSERT_TRUE(opened.has_value()) << "cipher " << int(c) << " body " << body;
            EXPECT_EQ(*opened, plain);
        }
    }
}

TEST(smb2_crypto_encryption, tampering_and_malformed_headers_are_rejected) {
    for (auto c : all_ciphers) {
        auto key = key_for(c, 3);
        auto plain = make_message(command::read, flag_server_to_redir, 99, 300);
        auto sealed = ok(encrypt_message(c, key, 5, plain));
        ASSERT_TRUE(decrypt_message(c, key, sealed).has_value());

        auto flipped = [&](size_t at) {
            auto m = sealed;
            m[at] ^= 0x80;
            return decrypt_message(c, key, m);
        };
        // Tag (Signature), every AAD byte (Nonce..SessionId), ciphertext start/middle/end.
        for (size_t i = 4; i < transform_header_size; ++i) {
            EXPECT_FALSE(flipped(i).has_value()) << "cipher " << int(c) << " header byte " << i;
        }
        for (size_t i : {transform_header_size, sealed.size() / 2, sealed.size() - 1}) {
            EXPECT_FALSE(flipped(i).has_value()) << "cipher " << int(c) << " byte " << i;
        }

        auto m = sealed;
        m[0] = 0xFE; // an SMB2 header, not a TRANSFORM_HEADER
        EXPECT_FALSE(decrypt_message(c, key, m).has_value());
        m = sealed;
        m.push_back(0); // OriginalMessageSize no longer matches
        EXPECT_FALSE(decrypt_message(c, key, m).has_value());
        m = sealed;
        m.pop_back();
        EXPECT_FALSE(decrypt_message(c, key, m).has_value());
        m = sealed;
        m[42] = 0x00; // Flags 0
        EXPECT_FALSE(decrypt_message(c, key, m).has_value());
        m = bytes(sealed.begin(), sealed.begin() + 40);
        EXPECT_FALSE(decrypt_message(c, key, m).has_value());
        EXPECT_FALSE(decrypt_message(c, key, bytes{}).has_value());

        auto wrong_key = key;
        wrong_key[0] ^= 1;
        EXPECT_FALSE(decrypt_message(c, wrong_key, sealed).has_value());
        // Still fine with the right key after all those failures (context reuse).
        auto again = decrypt_message(c, key, sealed);
        ASSERT_TRUE(again.has_value());
        EXPECT_EQ(*again, plain);
    }
    // The other cipher of the same key size cannot open it either.
    auto key = key_for(cipher::aes128_gcm, 4);
    auto sealed =
        ok(encrypt_message(cipher::aes128_gcm, key, 1, make_message(command::echo, 0, 1, 4)));
    EXPECT_FALSE(decrypt_message(cipher::aes128_ccm, key, sealed).has_value());
}

TEST(smb2_crypto_encryption, original_message_size_below_smb2_header_is_rejected) {
    // MS-SMB2 3.3.5.2.1: OriginalMessageSize smaller than an SMB2 header is malformed,
    // even if it authenticates.
    auto key = key_for(cipher::aes128_gcm, 5);
    auto sealed = ok(encrypt_message(cipher::aes128_gcm, key, 1, bytes(10, 0x11)));
    EXPECT_FALSE(decrypt_message(cipher::aes128_gcm, key, sealed).has_value());
}

// Crypto runs on the data path: bad arguments are failures returned, never exceptions.
TEST(smb2_crypto_encryption, bad_arguments_fail_without_throwing) {
    auto m = make_message(command::echo, 0, 1, 4);
    EXPECT_FALSE(encrypt_message(cipher::aes128_gcm, bytes(32, 1), 1, m));
    EXPECT_FALSE(encrypt_message(cipher::aes256_ccm, bytes(16, 1), 1, m));
    EXPECT_FALSE(encrypt_message(cipher::none, bytes(16, 1), 1, m));
    EXPECT_FALSE(decrypt_message(cipher::aes256_gcm, bytes(16, 1), m));
    auto sealed = ok(encrypt_message(cipher::aes256_gcm, bytes(32, 1), 1, m));
    EXPECT_FALSE(decrypt_message(cipher::none, bytes(32, 1), sealed));
    EXPECT_FALSE(decrypt_in_place(cipher::aes256_gcm, bytes(16, 1), sealed));
    bytes head(m);
    EXPECT_FALSE(encrypt_in_place(cipher(0x7777), bytes(16, 1), 1, head, {}));
    EXPECT_EQ(head, m) << "nothing was encrypted";
}

// "message too large to encrypt": the size check comes before any byte is touched, so a
// span over memory that does not exist is safe to pass.
TEST(smb2_crypto_encryption, message_too_large_fails) {
    bytes head(64, 1);
    std::span<uint8_t> huge(head.data(), size_t(INT_MAX));
    EXPECT_FALSE(encrypt_in_place(cipher::aes128_gcm, key16(1), 1, head, huge));
}

TEST(smb2_crypto_kdf, output_too_long_fails) {
    EXPECT_FALSE(kdf(key16(1), label("x"), label("y"), size_t(UINT32_MAX) / 8 + 1));
}

TEST(smb2_crypto_encryption, nonces_never_repeat_across_threads) {
    constexpr int per_thread = 5000;
    std::vector<std::vector<bytes>> seen(3);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < seen.size(); ++t) {
        threads.emplace_back([&, t] {
            auto c = t % 2 ? cipher::aes128_ccm : cipher::aes128_gcm;
            auto key = key_for(c, 6);
            auto plain = make_message(command::echo, 0, 1, 4);
            for (int i = 0; i < per_thread; ++i) {
                auto out = ok(encrypt_message(c, key, 1, plain));
                seen[t].emplace_back(out.begin() + 20, out.begin() + 36);
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    std::set<bytes> unique;
    for (auto& v : seen) {
        unique.insert(v.begin(), v.end());
    }
    EXPECT_EQ(unique.size(), seen.size() * per_thread);
}

// ---------------------------------------------------------------------------------------
// Several threads, more keys than a thread caches, everything at once.

TEST(smb2_crypto_threads, concurrent_use_with_many_keys) {
    constexpr int keys_per_thread = 9;
    auto message = make_message(command::write, 0, 17, 900);
    // Reference signatures computed up front on this thread.
    std::map<std::pair<int, int>, signature> expected;
    for (auto alg : all_signing) {
        for (int k = 0; k < keys_per_thread; ++k) {
            expected[{int(alg), k}] = ok(compute_signature(alg, key16(uint8_t(k)), message));
        }
    }
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 20; ++round) {
                for (int k = 0; k < keys_per_thread; ++k) {
                    auto c = all_ciphers[size_t(k + t) % all_ciphers.size()];
                    auto key = key_for(c, uint8_t(k));
                    auto sealed = ok(encrypt_message(c, key, uint64_t(t), message));
                    auto opened = decrypt_message(c, key, sealed);
                    if (!opened || *opened != message) {
                        ++failures;
                    }
                    for (auto alg : all_signing) {
                        if (ok(compute_signature(alg, key16(uint8_t(k)), message)) !=
                            expected[{int(alg), k}]) {
                            ++failures;
                        }
                    }
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(failures.load(), 0);
}

// ---------------------------------------------------------------------------------------

TEST(smb2_crypto_misc, cipher_key_size) {
    EXPECT_EQ(cipher_key_size(cipher::aes128_ccm), 16u);
    EXPECT_EQ(cipher_key_size(cipher::aes128_gcm), 16u);
    EXPECT_EQ(cipher_key_size(cipher::aes256_ccm), 32u);
    EXPECT_EQ(cipher_key_size(cipher::aes256_gcm), 32u);
    EXPECT_EQ(cipher_key_size(cipher::none), 0u);
}

TEST(smb2_crypto_misc, equal_constant_time) {
    auto a = from_hex("00112233445566778899AABBCCDDEEFF");
    auto b = a;
    EXPECT_TRUE(equal_constant_time(a, b));
    for (size_t i = 0; i < b.size(); ++i) {
        b[i] ^= 1;
        EXPECT_FALSE(equal_constant_time(a, b)) << i;
        b[i] ^= 1;
    }
    EXPECT_FALSE(equal_constant_time(a, byte_span(a).first(15)));
    EXPECT_TRUE(equal_constant_time(bytes{}, bytes{}));
}

// READ data stays in its own buffer: a signature over (message, payload) equals the
// signature of the two joined, and GCM encryption of the two in place opens to the
// joined plaintext with the ordinary decryption.
TEST(smb2_crypto_in_place, signature_over_head_and_payload_equals_joined) {
    auto whole = make_message(command::read, 0, 9, 16 + 4096);
    bytes head(whole.begin(), whole.begin() + 80);
    bytes payload(whole.begin() + 80, whole.end());
    for (auto alg : {signing_algorithm::hmac_sha256, signing_algorithm::aes_cmac,
                     signing_algorithm::aes_gmac}) {
        bytes key(16, 0x42);
        EXPECT_EQ(ok(compute_signature(alg, key, head, payload)),
                  ok(compute_signature(alg, key, whole)))
            << "algorithm " << int(alg);
    }
}

TEST(smb2_crypto_in_place, gcm_encrypts_head_and_payload_where_they_lie) {
    for (auto c : {cipher::aes128_gcm, cipher::aes256_gcm}) {
        auto key = key_for(c, 4);
        auto whole = make_message(command::read, 0, 3, 16 + 65536 + 5);
        bytes head(whole.begin(), whole.begin() + 80);
        bytes payload(whole.begin() + 80, whole.end());
        const uint8_t* payload_at = payload.data();
        auto th = ok(encrypt_in_place(c, key, 5, head, payload));
        EXPECT_EQ(payload.data(), payload_at);
        EXPECT_NE(bytes(whole.begin() + 80, whole.end()), payload) << "payload encrypted";
        bytes wire(th.begin(), th.end());
        wire.insert(wire.end(), head.begin(), head.end());
        wire.insert(wire.end(), payload.begin(), payload.end());
        auto opened = decrypt_message(c, key, wire);
        ASSERT_TRUE(opened.has_value());
        EXPECT_EQ(*opened, whole);
        // And in place: the plaintext appears after the transform header.
        ASSERT_TRUE(decrypt_in_place(c, key, wire));
        EXPECT_EQ(bytes(wire.begin() + transform_header_size, wire.end()), whole);
    }
}

TEST(smb2_crypto_in_place, ccm_refuses_a_split_plaintext) {
    auto key = key_for(cipher::aes128_ccm, 1);
    bytes head(80, 1), payload(100, 2);
    bytes before = head;
    EXPECT_FALSE(encrypt_in_place(cipher::aes128_ccm, key, 1, head, payload));
    EXPECT_EQ(head, before);
}

} // namespace
} // namespace smbx::smb2::crypto
