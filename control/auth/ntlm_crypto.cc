#include "control/auth/ntlm_crypto.hh"

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

namespace smbx::auth {

namespace {

// Loading a provider explicitly disables the implicit default one: load both, once per
// process, and unload them at exit so LeakSanitizer sees the loads balanced.
struct loaded_providers {
    OSSL_PROVIDER* legacy = OSSL_PROVIDER_load(nullptr, "legacy");
    OSSL_PROVIDER* fallback = OSSL_PROVIDER_load(nullptr, "default");
    ~loaded_providers() {
        if (fallback) {
            OSSL_PROVIDER_unload(fallback);
        }
        if (legacy) {
            OSSL_PROVIDER_unload(legacy);
        }
    }
};

} // namespace

void load_providers() {
    static loaded_providers providers;
}

md5_digest hmac_md5(byte_span key, std::initializer_list<byte_span> parts) {
    load_providers();
    // Fetched per use (OpenSSL caches methods): a process-lifetime handle would outlive
    // OPENSSL_cleanup at exit. The context keeps its own reference.
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    EVP_MAC_CTX* ctx = mac ? EVP_MAC_CTX_new(mac) : nullptr;
    EVP_MAC_free(mac);
    if (!ctx) {
        throw std::runtime_error("EVP_MAC_CTX_new failed");
    }
    char digest[] = "MD5";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    // HMAC accepts an empty key; OpenSSL wants a non-null pointer for it.
    static const uint8_t empty = 0;
    bool ok = EVP_MAC_init(ctx, key.empty() ? &empty : key.data(), key.size(), params) == 1;
    for (auto part : parts) {
        ok = ok && (part.empty() || EVP_MAC_update(ctx, part.data(), part.size()) == 1);
    }
    md5_digest out{};
    size_t len = 0;
    ok = ok && EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == out.size();
    EVP_MAC_CTX_free(ctx);
    if (!ok) {
        throw std::runtime_error("HMAC-MD5 failed");
    }
    return out;
}

md5_digest md5(std::initializer_list<byte_span> parts) {
    load_providers();
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (!ctx) {
        throw std::runtime_error("EVP_MD_CTX_new failed");
    }
    bool ok = EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) == 1;
    for (auto part : parts) {
        ok = ok && (part.empty() || EVP_DigestUpdate(ctx, part.data(), part.size()) == 1);
    }
    md5_digest out{};
    unsigned int len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, out.data(), &len) == 1 && len == out.size();
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        throw std::runtime_error("MD5 failed");
    }
    return out;
}

void random_bytes(std::span<uint8_t> out) {
    if (RAND_bytes(out.data(), int(out.size())) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
}

bool constant_time_equal(byte_span a, byte_span b) {
    if (a.size() != b.size()) {
        return false;
    }
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

rc4::rc4(byte_span key) {
    load_providers();
    EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "RC4", nullptr);
    if (!cipher) {
        throw std::runtime_error("RC4 unavailable (OpenSSL legacy provider not loaded)");
    }
    _ctx = EVP_CIPHER_CTX_new();
    unsigned int key_len = unsigned(key.size());
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_uint(OSSL_CIPHER_PARAM_KEYLEN, &key_len),
        OSSL_PARAM_construct_end(),
    };
    // RC4's key length is variable (MS-NLMP uses 5, 7 and 16 bytes): set it before the key.
    if (!_ctx || key.empty() || EVP_EncryptInit_ex2(_ctx, cipher, nullptr, nullptr, params) != 1 ||
        EVP_EncryptInit_ex2(_ctx, nullptr, key.data(), nullptr, nullptr) != 1) {
        EVP_CIPHER_CTX_free(_ctx);
        EVP_CIPHER_free(cipher);
        throw std::runtime_error("RC4 init failed");
    }
    EVP_CIPHER_free(cipher); // the context holds its own reference
}

rc4::~rc4() {
    EVP_CIPHER_CTX_free(_ctx);
}

bytes rc4::apply(byte_span data) {
    bytes out(data.size());
    int len = 0;
    if (!data.empty() &&
        (EVP_EncryptUpdate(_ctx, out.data(), &len, data.data(), int(data.size())) != 1 ||
         size_t(len) != data.size())) {
        throw std::runtime_error("RC4 failed");
    }
    return out;
}

bytes uppercase_utf16(byte_span utf16) {
    bytes out(utf16.begin(), utf16.end());
    for (size_t i = 0; i + 1 < out.size(); i += 2) {
        uint16_t c = uint16_t(out[i] | (out[i + 1] << 8));
        if ((c >= 'a' && c <= 'z') || (c >= 0xe0 && c <= 0xfe && c != 0xf7) ||
            (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) || (c >= 0x430 && c <= 0x44f)) {
            c -= 0x20;
        } else if (c >= 0x450 && c <= 0x45f) {
            c -= 0x50;
        } else if (c == 0xff) {
            c = 0x178;
        }
        out[i] = uint8_t(c);
        out[i + 1] = uint8_t(c >> 8);
    }
    return out;
}

md5_digest ntowf_v2(byte_span nt_hash, byte_span user_utf16, byte_span domain_utf16) {
    bytes upper = uppercase_utf16(user_utf16);
    return hmac_md5(nt_hash, {upper, domain_utf16});
}

namespace {

// The magic constants include their terminating NUL (MS-NLMP 3.4.5.2, 3.4.5.3).
constexpr char client_signing[] = "session key to client-to-server signing key magic constant";
constexpr char server_signing[] = "session key to server-to-client signing key magic constant";
constexpr char client_sealing[] = "session key to client-to-server sealing key magic constant";
constexpr char server_sealing[] = "session key to server-to-client sealing key magic constant";

std::string_view magic(session_security::direction d, bool signing) {
    bool c2s = d == session_security::direction::client_to_server;
    const char* s =
        signing ? (c2s ? client_signing : server_signing) : (c2s ? client_sealing : server_sealing);
    return std::string_view(s, sizeof(client_signing));
}

byte_span as_bytes(std::string_view s) {
    return byte_span(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

md5_digest sealing_key_for(byte_span key, session_security::direction d,
                           session_security::strength s) {
    // SEALKEY with extended session security: 16, 7 or 5 bytes of the key (MS-NLMP 3.4.5.3).
    using enum session_security::strength;
    size_t n = s == bits_128 ? 16 : s == bits_56 ? 7 : 5;
    return md5({key.first(std::min(n, key.size())), as_bytes(magic(d, false))});
}

} // namespace

session_security::session_security(byte_span exported_session_key, direction dir, strength s,
                                   bool key_exch)
    : _signing_key(md5({exported_session_key, as_bytes(magic(dir, true))})),
      _sealing_key(sealing_key_for(exported_session_key, dir, s)), _key_exch(key_exch),
      _handle(_sealing_key) {}

std::array<uint8_t, 16> session_security::sign(uint32_t seq_num, byte_span message) {
    // MS-NLMP 3.4.4.2: HMAC_MD5(SigningKey, SeqNum || Message)[0..7], RC4-sealed with
    // KEY_EXCH.
    uint8_t seq[4] = {uint8_t(seq_num), uint8_t(seq_num >> 8), uint8_t(seq_num >> 16),
                      uint8_t(seq_num >> 24)};
    md5_digest mac = hmac_md5(_signing_key, {byte_span(seq, 4), message});
    bytes checksum(mac.begin(), mac.begin() + 8);
    if (_key_exch) {
        checksum = _handle.apply(checksum);
    }
    std::array<uint8_t, 16> sig{1, 0, 0, 0};
    std::copy(checksum.begin(), checksum.end(), sig.begin() + 4);
    std::copy(seq, seq + 4, sig.begin() + 12);
    return sig;
}

} // namespace smbx::auth
