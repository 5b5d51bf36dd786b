#include "dataplane/smb2/crypto.hh"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>

#include "common/log.hh"

namespace smbx::smb2::crypto {

namespace {

// MS-SMB2 2.2.1: the Signature field is bytes 48..63 of the 64-byte header.
constexpr size_t signature_offset = 48;
constexpr size_t signature_size = 16;
// MS-SMB2 2.2.41: Signature at 4, Nonce at 20; the AEAD's associated data is everything
// from Nonce to the end of the TRANSFORM_HEADER (3.1.4.3).
constexpr size_t transform_signature_offset = 4;
constexpr size_t transform_nonce_offset = 20;
constexpr size_t transform_aad_size = transform_header_size - transform_nonce_offset;
constexpr uint16_t transform_flag_encrypted = 0x0001;
constexpr size_t ccm_nonce_size = 11;
constexpr size_t gcm_nonce_size = 12;
constexpr size_t tag_size = 16;

constexpr std::array<uint8_t, signature_size> zero_signature{};

// Failures the peer cannot cause (our keys, our ciphers, OpenSSL itself) say why here;
// the caller fails the request or the connection. Returns false for `return fail(...)`.
bool fail(const char* what) {
    LOG_ERROR("smb2 crypto: %s", what);
    return false;
}

// Algorithms are fetched once per process: an implicit fetch on every init costs more
// than MACing a small message (OpenSSL 3 "performance" migration notes).
struct algorithms {
    bool ok = false;
    EVP_MAC* hmac = nullptr;
    EVP_MAC* cmac = nullptr;
    EVP_MD* sha512 = nullptr;
    EVP_CIPHER* aes128_gcm = nullptr;
    EVP_CIPHER* aes256_gcm = nullptr;
    EVP_CIPHER* aes128_ccm = nullptr;
    EVP_CIPHER* aes256_ccm = nullptr;
};

// nullptr when OpenSSL lacks one of them (a broken installation): every operation fails.
const algorithms* algs() {
    static const algorithms a = [] {
        algorithms r;
        r.hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        r.cmac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
        r.sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
        r.aes128_gcm = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
        r.aes256_gcm = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
        r.aes128_ccm = EVP_CIPHER_fetch(nullptr, "AES-128-CCM", nullptr);
        r.aes256_ccm = EVP_CIPHER_fetch(nullptr, "AES-256-CCM", nullptr);
        r.ok = r.hmac && r.cmac && r.sha512 && r.aes128_gcm && r.aes256_gcm && r.aes128_ccm &&
               r.aes256_ccm;
        if (!r.ok) {
            fail("OpenSSL lacks a required algorithm");
        }
        return r;
    }();
    return a.ok ? &a : nullptr;
}

struct cipher_spec {
    const EVP_CIPHER* evp;
    size_t key_size;
    size_t nonce_size;
    bool ccm;
};

std::optional<cipher_spec> spec_of(cipher c) {
    const algorithms* a = algs();
    if (!a) {
        return std::nullopt;
    }
    switch (c) {
    case cipher::aes128_ccm:
        return cipher_spec{a->aes128_ccm, 16, ccm_nonce_size, true};
    case cipher::aes128_gcm:
        return cipher_spec{a->aes128_gcm, 16, gcm_nonce_size, false};
    case cipher::aes256_ccm:
        return cipher_spec{a->aes256_ccm, 32, ccm_nonce_size, true};
    case cipher::aes256_gcm:
        return cipher_spec{a->aes256_gcm, 32, gcm_nonce_size, false};
    case cipher::none:
        break;
    }
    fail("no such cipher");
    return std::nullopt;
}

// A few OpenSSL contexts per thread, each remembering the key it was set up with, so a
// worker serving the same sessions again skips the key schedule (and, for GCM, the
// GHASH table). Contexts are never shared between threads, so no locking.
template <typename Ctx, void (*free_ctx)(Ctx*)> class keyed_contexts {
public:
    struct lookup {
        Ctx* ctx;   // nullptr: out of memory
        bool keyed; // false: the caller must install `key` before use
    };

    keyed_contexts() = default;
    keyed_contexts(const keyed_contexts&) = delete;
    keyed_contexts& operator=(const keyed_contexts&) = delete;
    ~keyed_contexts() {
        for (auto& s : _slots) {
            free_ctx(s.ctx);
            OPENSSL_cleanse(s.key.data(), s.key.size());
        }
    }

    template <typename Make> lookup find(byte_span key, Make&& make) {
        for (auto& s : _slots) {
            if (s.ctx && s.key_len == key.size() &&
                CRYPTO_memcmp(s.key.data(), key.data(), key.size()) == 0) {
                return {s.ctx, true};
            }
        }
        auto& s = _slots[_next];
        _next = (_next + 1) % _slots.size();
        if (!s.ctx) {
            s.ctx = make();
            if (!s.ctx) {
                fail("out of memory for a context");
                return {nullptr, false};
            }
        }
        OPENSSL_cleanse(s.key.data(), s.key.size());
        // Keys longer than a slot are never matched: always re-keyed, still correct.
        s.key_len = no_key;
        if (key.size() <= s.key.size()) {
            std::memcpy(s.key.data(), key.data(), key.size());
            s.key_len = key.size();
        }
        return {s.ctx, false};
    }

    // After a failed operation: make the next use set the key again from scratch.
    void forget(Ctx* ctx) {
        for (auto& s : _slots) {
            if (s.ctx == ctx) {
                s.key_len = no_key;
            }
        }
    }

private:
    static constexpr size_t no_key = SIZE_MAX;
    struct slot {
        Ctx* ctx = nullptr;
        size_t key_len = no_key;
        std::array<uint8_t, 32> key{};
    };
    std::array<slot, 4> _slots{};
    size_t _next = 0;
};

using mac_contexts = keyed_contexts<EVP_MAC_CTX, EVP_MAC_CTX_free>;
using cipher_contexts = keyed_contexts<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;

constexpr size_t cipher_count = 4;

struct thread_contexts {
    mac_contexts hmac;
    mac_contexts cmac;
    cipher_contexts gmac;
    std::array<cipher_contexts, cipher_count> seal;
    std::array<cipher_contexts, cipher_count> open;
    EVP_MD_CTX* sha512 = nullptr;

    thread_contexts() = default;
    thread_contexts(const thread_contexts&) = delete;
    thread_contexts& operator=(const thread_contexts&) = delete;
    ~thread_contexts() { EVP_MD_CTX_free(sha512); }
};

thread_contexts& contexts() {
    thread_local thread_contexts t;
    return t;
}

size_t cipher_index(cipher c) {
    return static_cast<size_t>(c) - 1; // callers have gone through spec_of()
}

// Nonces (MS-SMB2 3.1.4.3) need only never repeat under one key. A counter makes that
// certain within this process, where RAND_bytes per message would make it merely likely
// (and cost a DRBG call per message). A random per-process prefix and a random starting
// value keep a restarted data plane from reusing its previous life's nonces under a
// session key that outlived it. Threads take blocks of counter values so workers do not
// all contend on one cache line.
class nonce_source {
public:
    // nullopt: the system gave no randomness for the prefix, so no nonce is safe.
    static std::optional<std::array<uint8_t, 16>> next(size_t nonce_size) {
        static nonce_source shared;
        if (!shared._ok) {
            fail("no randomness for nonces");
            return std::nullopt;
        }
        thread_local uint64_t next_value = 0;
        thread_local uint64_t block_left = 0;
        if (block_left == 0) {
            next_value = shared._counter.fetch_add(block, std::memory_order_relaxed);
            block_left = block;
        }
        uint64_t v = next_value++;
        --block_left;

        // Counter in the first 8 bytes, then as much of the prefix as fits (3 bytes for
        // CCM's 11-byte nonce, 4 for GCM's 12); the rest of the field stays zero.
        std::array<uint8_t, 16> n{};
        for (size_t i = 0; i < 8; ++i) {
            n[i] = uint8_t(v >> (8 * i));
        }
        std::memcpy(n.data() + 8, shared._prefix.data(), nonce_size - 8);
        return n;
    }

private:
    static constexpr uint64_t block = 4096;

    nonce_source() {
        uint64_t start = 0;
        _ok = RAND_bytes(_prefix.data(), int(_prefix.size())) == 1 &&
              RAND_bytes(reinterpret_cast<unsigned char*>(&start), sizeof(start)) == 1;
        _counter.store(start, std::memory_order_relaxed);
    }

    bool _ok = false;
    std::array<uint8_t, 4> _prefix{};
    std::atomic<uint64_t> _counter{0};
};

bool key_size_is(byte_span key, size_t size) {
    return key.size() == size || fail("wrong key size");
}

// Runs `feed` over the message with its Signature field read as zeros, then over the
// payload that follows it on the wire, without copying either (MS-SMB2 3.1.4.1).
template <typename Feed> bool feed_unsigned(byte_span message, byte_span payload, Feed&& feed) {
    bool ok = feed(message.first(signature_offset)) && feed(byte_span(zero_signature));
    if (message.size() > header_size) {
        ok = ok && feed(message.subspan(header_size));
    }
    if (!payload.empty()) {
        ok = ok && feed(payload);
    }
    return ok;
}

std::optional<signature> mac_signature(mac_contexts& cache, EVP_MAC* mac, const OSSL_PARAM* params,
                                       byte_span key, byte_span message, byte_span payload) {
    auto [ctx, keyed] = cache.find(key, [mac] { return EVP_MAC_CTX_new(mac); });
    if (!ctx) {
        return std::nullopt;
    }
    // A NULL key re-initialises with the key already installed.
    static const uint8_t empty = 0;
    const uint8_t* k = key.empty() ? &empty : key.data();
    bool ok = (keyed ? EVP_MAC_init(ctx, nullptr, 0, nullptr)
                     : EVP_MAC_init(ctx, k, key.size(), params)) == 1;
    ok = ok && feed_unsigned(message, payload, [c = ctx](byte_span s) {
             return EVP_MAC_update(c, s.data(), s.size()) == 1;
         });
    std::array<uint8_t, EVP_MAX_MD_SIZE> out{};
    size_t out_len = 0;
    ok = ok && EVP_MAC_final(ctx, out.data(), &out_len, out.size()) == 1;
    if (!ok || out_len < signature_size) {
        cache.forget(ctx);
        fail("MAC failed");
        return std::nullopt;
    }
    signature sig;
    std::memcpy(sig.data(), out.data(), sig.size());
    OPENSSL_cleanse(out.data(), out.size());
    return sig;
}

std::optional<signature> hmac_sha256_signature(const algorithms& a, byte_span key,
                                               byte_span message, byte_span payload) {
    static char digest[] = "SHA256";
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, sizeof(digest) - 1), OSSL_PARAM_END};
    return mac_signature(contexts().hmac, a.hmac, params, key, message, payload);
}

std::optional<signature> cmac_signature(const algorithms& a, byte_span key, byte_span message,
                                        byte_span payload) {
    if (!key_size_is(key, 16)) {
        return std::nullopt;
    }
    static char cbc[] = "AES-128-CBC";
    static const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_CIPHER, cbc, sizeof(cbc) - 1), OSSL_PARAM_END};
    return mac_signature(contexts().cmac, a.cmac, params, key, message, payload);
}

// MS-SMB2 3.1.4.1: AES-GMAC is AES-128-GCM over an empty plaintext with the message as
// associated data; the 12-byte nonce is MessageId, then a 32-bit field whose bit 0 says
// the sender is the server (SMB2_FLAGS_SERVER_TO_REDIR) and bit 1 that it is a CANCEL.
std::optional<signature> gmac_signature(const algorithms& a, byte_span key, byte_span message,
                                        byte_span payload) {
    if (!key_size_is(key, 16)) {
        return std::nullopt;
    }
    byte_reader r(message);
    r.seek(12);
    auto cmd = r.u16();
    r.seek(16);
    auto flags = r.u32();
    r.seek(24);
    auto message_id = r.u64();

    std::array<uint8_t, gcm_nonce_size> nonce{};
    for (size_t i = 0; i < 8; ++i) {
        nonce[i] = uint8_t(message_id >> (8 * i));
    }
    nonce[8] = uint8_t((flags & flag_server_to_redir ? 0x1 : 0) |
                       (cmd == uint16_t(command::cancel) ? 0x2 : 0));

    auto& cache = contexts().gmac;
    auto [ctx, keyed] = cache.find(key, [] { return EVP_CIPHER_CTX_new(); });
    if (!ctx) {
        return std::nullopt;
    }
    bool ok = keyed
                  ? EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) == 1
                  : EVP_EncryptInit_ex2(ctx, a.aes128_gcm, key.data(), nonce.data(), nullptr) == 1;
    ok = ok && feed_unsigned(message, payload, [c = ctx](byte_span s) {
             int n = 0;
             return s.size() <= size_t(INT_MAX) &&
                    EVP_EncryptUpdate(c, nullptr, &n, s.data(), int(s.size())) == 1;
         });
    int n = 0;
    uint8_t none[16];
    signature sig;
    ok = ok && EVP_EncryptFinal_ex(ctx, none, &n) == 1 &&
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, int(sig.size()), sig.data()) == 1;
    if (!ok) {
        cache.forget(ctx);
        fail("GMAC failed");
        return std::nullopt;
    }
    return sig;
}

// Sets up `ctx` for one message: the cipher, nonce length and tag length on first use of
// a key, only the nonce afterwards (the key schedule stays in the context).
bool aead_begin(EVP_CIPHER_CTX* ctx, bool keyed, const cipher_spec& s, byte_span key,
                const uint8_t* nonce, bool encrypt) {
    auto init = encrypt ? EVP_EncryptInit_ex2 : EVP_DecryptInit_ex2;
    if (keyed) {
        return init(ctx, nullptr, nullptr, nonce, nullptr) == 1;
    }
    if (init(ctx, s.evp, nullptr, nullptr, nullptr) != 1) {
        return false;
    }
    if (s.ccm &&
        (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, int(s.nonce_size), nullptr) != 1 ||
         EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, int(tag_size), nullptr) != 1)) {
        return false;
    }
    return init(ctx, nullptr, key.data(), nonce, nullptr) == 1;
}

} // namespace

std::optional<bytes> kdf(byte_span key, byte_span label, byte_span context, size_t out_len) {
    // SP800-108 counter mode, PRF = HMAC-SHA256, r = 32 (MS-SMB2 3.1.4.2):
    // K(i) = PRF(Ki, [i]_2 || Label || 0x00 || Context || [L]_2).
    constexpr size_t prf_size = 32;
    if (out_len > (size_t(UINT32_MAX) / 8)) {
        fail("KDF output too long");
        return std::nullopt;
    }
    bytes out;
    if (out_len == 0) {
        return out;
    }
    const algorithms* a = algs();
    if (!a) {
        return std::nullopt;
    }
    out.reserve(out_len);

    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(a->hmac);
    if (!ctx) {
        fail("out of memory for KDF");
        return std::nullopt;
    }
    static char digest[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, sizeof(digest) - 1), OSSL_PARAM_END};
    static const uint8_t empty = 0;
    const uint8_t* k = key.empty() ? &empty : key.data();
    const uint32_t bits = uint32_t(out_len * 8);
    const uint8_t l_be[4] = {uint8_t(bits >> 24), uint8_t(bits >> 16), uint8_t(bits >> 8),
                             uint8_t(bits)};
    const uint8_t separator = 0;

    bool ok = EVP_MAC_init(ctx, k, key.size(), params) == 1;
    std::array<uint8_t, prf_size> block{};
    for (uint32_t i = 1; ok && out.size() < out_len; ++i) {
        const uint8_t i_be[4] = {uint8_t(i >> 24), uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)};
        size_t n = 0;
        ok = (i == 1 || EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1) &&
             EVP_MAC_update(ctx, i_be, sizeof(i_be)) == 1 &&
             EVP_MAC_update(ctx, label.data(), label.size()) == 1 &&
             EVP_MAC_update(ctx, &separator, 1) == 1 &&
             EVP_MAC_update(ctx, context.data(), context.size()) == 1 &&
             EVP_MAC_update(ctx, l_be, sizeof(l_be)) == 1 &&
             EVP_MAC_final(ctx, block.data(), &n, block.size()) == 1 && n == prf_size;
        if (ok) {
            size_t take = std::min(prf_size, out_len - out.size());
            out.insert(out.end(), block.begin(), block.begin() + take);
        }
    }
    OPENSSL_cleanse(block.data(), block.size());
    EVP_MAC_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(out.data(), out.size());
        fail("KDF failed");
        return std::nullopt;
    }
    return out;
}

bool preauth_update(preauth_hash& hash, byte_span message) {
    // MS-SMB2 3.3.5.4 / 3.3.5.5: PreauthIntegrityHashValue = SHA-512(previous || message).
    const algorithms* a = algs();
    if (!a) {
        return false;
    }
    auto& t = contexts();
    if (!t.sha512) {
        t.sha512 = EVP_MD_CTX_new();
        if (!t.sha512) {
            return fail("out of memory for SHA-512");
        }
    }
    unsigned int n = 0;
    bool ok = EVP_DigestInit_ex2(t.sha512, a->sha512, nullptr) == 1 &&
              EVP_DigestUpdate(t.sha512, hash.data(), hash.size()) == 1 &&
              EVP_DigestUpdate(t.sha512, message.data(), message.size()) == 1 &&
              EVP_DigestFinal_ex(t.sha512, hash.data(), &n) == 1 && n == hash.size();
    return ok || fail("SHA-512 failed");
}

std::optional<signature> compute_signature(signing_algorithm alg, byte_span key, byte_span message,
                                           byte_span payload) {
    if (message.size() < header_size) {
        fail("message shorter than an SMB2 header");
        return std::nullopt;
    }
    const algorithms* a = algs();
    if (!a) {
        return std::nullopt;
    }
    switch (alg) {
    case signing_algorithm::hmac_sha256:
        // MS-SMB2 3.1.4.1: 2.0.2 and 2.1 sign with HMAC-SHA256, first 16 bytes.
        return hmac_sha256_signature(*a, key, message, payload);
    case signing_algorithm::aes_cmac:
        return cmac_signature(*a, key, message, payload);
    case signing_algorithm::aes_gmac:
        return gmac_signature(*a, key, message, payload);
    }
    fail("no such signing algorithm");
    return std::nullopt;
}

bool verify_signature(signing_algorithm alg, byte_span key, byte_span message) {
    if (message.size() < header_size) {
        return false;
    }
    auto sig = compute_signature(alg, key, message);
    return sig && CRYPTO_memcmp(sig->data(), message.data() + signature_offset, sig->size()) == 0;
}

bool sign_in_place(signing_algorithm alg, byte_span key, std::span<uint8_t> message,
                   byte_span payload) {
    auto sig = compute_signature(alg, key, message, payload);
    if (!sig) {
        return false;
    }
    std::memcpy(message.data() + signature_offset, sig->data(), sig->size());
    return true;
}

std::optional<transform_bytes> encrypt_in_place(cipher c, byte_span key, uint64_t session_id,
                                                std::span<uint8_t> head,
                                                std::span<uint8_t> payload) {
    const auto spec = spec_of(c);
    if (!spec || !key_size_is(key, spec->key_size)) {
        return std::nullopt;
    }
    const cipher_spec& s = *spec;
    const size_t total = head.size() + payload.size();
    if (total > size_t(INT_MAX) - transform_header_size) {
        fail("message too large to encrypt");
        return std::nullopt;
    }
    if (s.ccm && !payload.empty()) {
        // OpenSSL's CCM takes the whole plaintext in one update.
        fail("CCM encrypts one contiguous message");
        return std::nullopt;
    }
    auto nonce = nonce_source::next(s.nonce_size);
    if (!nonce) {
        return std::nullopt;
    }

    // MS-SMB2 3.1.4.3: Flags = Encrypted, a fresh nonce, then AEAD with the header from
    // Nonce onwards as associated data; the tag goes in the Signature field.
    transform_header t;
    t.nonce = *nonce;
    t.original_message_size = uint32_t(total);
    t.flags = transform_flag_encrypted;
    t.session_id = session_id;
    byte_writer w;
    write_transform_header(w, t);
    transform_bytes out{};
    std::memcpy(out.data(), w.buffer().data(), out.size());

    auto& cache = contexts().seal[cipher_index(c)];
    auto [ctx, keyed] = cache.find(key, [] { return EVP_CIPHER_CTX_new(); });
    if (!ctx) {
        return std::nullopt;
    }
    int n = 0;
    bool ok = aead_begin(ctx, keyed, s, key, t.nonce.data(), true);
    if (s.ccm) {
        // CCM must know the total length before the associated data.
        ok = ok && EVP_EncryptUpdate(ctx, nullptr, &n, nullptr, int(total)) == 1;
    }
    ok = ok && EVP_EncryptUpdate(ctx, nullptr, &n, out.data() + transform_nonce_offset,
                                 int(transform_aad_size)) == 1;
    for (auto part : {head, payload}) {
        ok = ok && (part.empty() ||
                    EVP_EncryptUpdate(ctx, part.data(), &n, part.data(), int(part.size())) == 1);
    }
    uint8_t none[16];
    ok = ok && EVP_EncryptFinal_ex(ctx, none, &n) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, int(tag_size),
                                   out.data() + transform_signature_offset) == 1;
    if (!ok) {
        cache.forget(ctx);
        OPENSSL_cleanse(head.data(), head.size());
        OPENSSL_cleanse(payload.data(), payload.size());
        fail("encryption failed");
        return std::nullopt;
    }
    return out;
}

std::optional<bytes> encrypt_message(cipher c, byte_span key, uint64_t session_id,
                                     byte_span plaintext) {
    bytes out(transform_header_size + plaintext.size());
    std::memcpy(out.data() + transform_header_size, plaintext.data(), plaintext.size());
    auto th = encrypt_in_place(c, key, session_id,
                               std::span<uint8_t>(out).subspan(transform_header_size), {});
    if (!th) {
        OPENSSL_cleanse(out.data(), out.size());
        return std::nullopt;
    }
    std::memcpy(out.data(), th->data(), th->size());
    return out;
}

bool decrypt_in_place(cipher c, byte_span key, std::span<uint8_t> message) {
    const auto spec = spec_of(c);
    if (!spec || !key_size_is(key, spec->key_size)) {
        return false;
    }
    const cipher_spec& s = *spec;

    // MS-SMB2 3.3.5.2.1: reject what is not a well-formed TRANSFORM_HEADER before
    // spending any work on it.
    transform_header t;
    if (!parse_transform_header(message, t) || t.flags != transform_flag_encrypted) {
        return false;
    }
    const size_t body_size = message.size() - transform_header_size;
    if (t.original_message_size != body_size || body_size < header_size ||
        body_size > size_t(INT_MAX)) {
        return false;
    }

    const int len = int(body_size);
    const uint8_t* aad = message.data() + transform_nonce_offset;
    uint8_t* body = message.data() + transform_header_size;
    auto& cache = contexts().open[cipher_index(c)];
    auto [ctx, keyed] = cache.find(key, [] { return EVP_CIPHER_CTX_new(); });
    if (!ctx) {
        OPENSSL_cleanse(body, body_size);
        return false;
    }
    int n = 0;
    bool ok = aead_begin(ctx, keyed, s, key, t.nonce.data(), false);
    bool authentic = false;
    if (s.ccm) {
        // CCM checks the tag in the one update that decrypts; it must be set first.
        ok = ok &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, int(tag_size), t.signature.data()) ==
                 1 &&
             EVP_DecryptUpdate(ctx, nullptr, &n, nullptr, len) == 1 &&
             EVP_DecryptUpdate(ctx, nullptr, &n, aad, int(transform_aad_size)) == 1;
        authentic = ok && EVP_DecryptUpdate(ctx, body, &n, body, len) == 1;
    } else {
        ok =
            ok && EVP_DecryptUpdate(ctx, nullptr, &n, aad, int(transform_aad_size)) == 1 &&
            EVP_DecryptUpdate(ctx, body, &n, body, len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, int(tag_size), t.signature.data()) == 1;
        uint8_t none[16];
        authentic = ok && EVP_DecryptFinal_ex(ctx, none, &n) == 1;
    }
    if (!ok) {
        // Not a forgery but a context in an unknown state: set it up afresh next time.
        cache.forget(ctx);
    }
    if (!authentic) {
        // Never let unauthenticated plaintext out, not even in freed memory.
        OPENSSL_cleanse(body, body_size);
        return false;
    }
    return true;
}

std::optional<bytes> decrypt_message(cipher c, byte_span key, byte_span message) {
    bytes copy(message.begin(), message.end());
    if (!decrypt_in_place(c, key, copy)) {
        return std::nullopt;
    }
    return bytes(copy.begin() + transform_header_size, copy.end());
}

size_t cipher_key_size(cipher c) {
    switch (c) {
    case cipher::aes128_ccm:
    case cipher::aes128_gcm:
        return 16;
    case cipher::aes256_ccm:
    case cipher::aes256_gcm:
        return 32;
    case cipher::none:
        break;
    }
    return 0;
}

bool equal_constant_time(byte_span a, byte_span b) {
    // The lengths are public (fixed-size keys and signatures); only the contents are not.
    if (a.size() != b.size()) {
        return false;
    }
    return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace smbx::smb2::crypto
