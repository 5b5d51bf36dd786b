// SMB2 signing and encryption through dataplane/smb2/crypto.hh, each next to the same
// primitive driven straight through OpenSSL's EVP API on the same buffer (one context,
// keyed once, output preallocated): the gap is what our API costs.
#include "dataplane/smb2/crypto.hh"

#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace {

using namespace smbx;
using namespace smbx::smb2;

constexpr int64_t small_message = 4 << 10;
constexpr int64_t large_message = 1 << 20;

bytes make_message(size_t size) {
    header h;
    h.cmd = command::read;
    h.flags = flag_server_to_redir | flag_signed;
    h.message_id = 42;
    h.session_id = 0x100000000025ull;
    byte_writer w;
    write_header(w, h);
    for (size_t i = header_size; i < size; ++i) {
        w.u8(uint8_t(i * 31));
    }
    return w.take();
}

bytes make_key(size_t n) {
    bytes k(n);
    for (size_t i = 0; i < n; ++i) {
        k[i] = uint8_t(0x40 + i);
    }
    return k;
}

const signing_algorithm signing_algs[] = {signing_algorithm::hmac_sha256,
                                          signing_algorithm::aes_cmac, signing_algorithm::aes_gmac};
const char* signing_names[] = {"hmac-sha256", "aes-128-cmac", "aes-128-gmac"};
const cipher ciphers[] = {cipher::aes128_ccm, cipher::aes128_gcm, cipher::aes256_ccm,
                          cipher::aes256_gcm};
const char* cipher_names[] = {"AES-128-CCM", "AES-128-GCM", "AES-256-CCM", "AES-256-GCM"};

void check(bool ok, const char* what) {
    if (!ok) {
        throw std::runtime_error(what);
    }
}

// --- through our API -------------------------------------------------------------------

void BM_smb2_sign(benchmark::State& state) {
    auto alg = signing_algs[state.range(0)];
    auto msg = make_message(size_t(state.range(1)));
    auto key = make_key(16);
    for (auto _ : state) {
        benchmark::DoNotOptimize(crypto::compute_signature(alg, key, msg));
    }
    state.SetBytesProcessed(state.iterations() * state.range(1));
    state.SetLabel(signing_names[state.range(0)]);
}

void BM_smb2_encrypt(benchmark::State& state) {
    auto c = ciphers[state.range(0)];
    auto msg = make_message(size_t(state.range(1)));
    auto key = make_key(crypto::cipher_key_size(c));
    for (auto _ : state) {
        benchmark::DoNotOptimize(crypto::encrypt_message(c, key, 1, msg));
    }
    state.SetBytesProcessed(state.iterations() * state.range(1));
    state.SetLabel(cipher_names[state.range(0)]);
}

void BM_smb2_decrypt(benchmark::State& state) {
    auto c = ciphers[state.range(0)];
    auto key = make_key(crypto::cipher_key_size(c));
    auto sealed = crypto::encrypt_message(c, key, 1, make_message(size_t(state.range(1))));
    check(sealed.has_value(), "encrypt");
    for (auto _ : state) {
        auto out = crypto::decrypt_message(c, key, *sealed);
        check(out.has_value(), "decrypt");
        benchmark::DoNotOptimize(out);
    }
    state.SetBytesProcessed(state.iterations() * state.range(1));
    state.SetLabel(cipher_names[state.range(0)]);
}

// --- raw EVP, the floor -----------------------------------------------------------------

void BM_evp_mac(benchmark::State& state) {
    bool cmac = state.range(0) == 1;
    auto msg = make_message(size_t(state.range(1)));
    auto key = make_key(16);
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, cmac ? "CMAC" : "HMAC", nullptr);
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    char sub[] = "AES-128-CBC";
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {cmac
                               ? OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, sub, 0)
                               : OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    check(EVP_MAC_init(ctx, key.data(), key.size(), params) == 1, "mac init");
    uint8_t out[64];
    for (auto _ : state) {
        size_t n = 0;
        check(EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 &&
                  EVP_MAC_update(ctx, msg.data(), msg.size()) == 1 &&
                  EVP_MAC_final(ctx, out, &n, sizeof(out)) == 1,
              "mac");
        benchmark::DoNotOptimize(out);
    }
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    state.SetBytesProcessed(state.iterations() * state.range(1));
    state.SetLabel(signing_names[state.range(0)]);
}

void BM_evp_gmac(benchmark::State& state) {
    auto msg = make_message(size_t(state.range(1)));
    auto key = make_key(16);
    uint8_t nonce[12] = {42};
    EVP_CIPHER* gcm = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    check(EVP_EncryptInit_ex2(ctx, gcm, key.data(), nonce, nullptr) == 1, "gcm init");
    uint8_t tag[16];
    for (auto _ : state) {
        int n = 0;
        check(EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce, nullptr) == 1 &&
                  EVP_EncryptUpdate(ctx, nullptr, &n, msg.data(), int(msg.size())) == 1 &&
                  EVP_EncryptFinal_ex(ctx, tag, &n) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1,
              "gmac");
        benchmark::DoNotOptimize(tag);
    }
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(gcm);
    state.SetBytesProcessed(state.iterations() * state.range(1));
    state.SetLabel("aes-128-gmac");
}

void BM_evp_aead(benchmark::State& state, bool encrypt) {
    const char* name = cipher_names[state.range(0)];
    bool ccm = state.range(0) % 2 == 0;
    auto msg = make_message(size_t(state.range(1)));
    auto key = make_key(crypto::cipher_key_size(ciphers[state.range(0)]));
    const int len = int(msg.size());
    uint8_t nonce[12] = {7};
    uint8_t aad[32] = {};
    uint8_t tag[16] = {};
    bytes out(msg.size() + 16);
    EVP_CIPHER* evp = EVP_CIPHER_fetch(nullptr, name, nullptr);
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    auto init = encrypt ? EVP_EncryptInit_ex2 : EVP_DecryptInit_ex2;
    auto update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate;
    check(init(ctx, evp, nullptr, nullptr, nullptr) == 1, "init");
    if (ccm) {
        check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 11, nullptr) == 1 &&
                  EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, nullptr) == 1,
              "ccm setup");
    }
    check(init(ctx, nullptr, key.data(), nonce, nullptr) == 1, "key");
    // Decryption authenticates: get a real tag for this buffer first.
    bytes input = msg;
    if (!encrypt) {
        EVP_CIPHER_CTX* e = EVP_CIPHER_CTX_new();
        int n = 0;
        check(EVP_EncryptInit_ex2(e, evp, nullptr, nullptr, nullptr) == 1 &&
                  (!ccm || (EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_SET_IVLEN, 11, nullptr) == 1 &&
                            EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_SET_TAG, 16, nullptr) == 1)) &&
                  EVP_EncryptInit_ex2(e, nullptr, key.data(), nonce, nullptr) == 1 &&
                  (!ccm || EVP_EncryptUpdate(e, nullptr, &n, nullptr, len) == 1) &&
                  EVP_EncryptUpdate(e, nullptr, &n, aad, sizeof(aad)) == 1 &&
                  EVP_EncryptUpdate(e, input.data(), &n, msg.data(), len) == 1 &&
                  EVP_EncryptFinal_ex(e, out.data(), &n) == 1 &&
                  EVP_CIPHER_CTX_ctrl(e, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1,
              "seal for decrypt");
        EVP_CIPHER_CTX_free(e);
    }
    for (auto _ : state) {
        int n = 0;
        bool ok = init(ctx, nullptr, nullptr, nonce, nullptr) == 1;
        if (!encrypt) {
            ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1;
        }
        if (ccm) {
            ok = ok && update(ctx, nullptr, &n, nullptr, len) == 1;
        }
        ok = ok && update(ctx, nullptr, &n, aad, sizeof(aad)) == 1 &&
             update(ctx, out.data(), &n, input.data(), len) == 1;
        if (encrypt) {
            ok = ok && EVP_EncryptFinal_ex(ctx, out.data() + len, &n) == 1 &&
                 EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag) == 1;
        } else if (!ccm) {
            ok = ok && EVP_DecryptFinal_ex(ctx, out.data() + len, &n) == 1;
        }
        check(ok, encrypt ? "raw encrypt" : "raw decrypt");
        benchmark::DoNotOptimize(out.data());
    }
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(evp);
    state.SetBytesProcessed(state.iterations() * state.range(1));
    state.SetLabel(name);
}

void BM_evp_encrypt(benchmark::State& state) {
    BM_evp_aead(state, true);
}
void BM_evp_decrypt(benchmark::State& state) {
    BM_evp_aead(state, false);
}

void signing_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"alg", "bytes"});
    for (int64_t size : {small_message, large_message}) {
        for (int64_t alg = 0; alg < 3; ++alg) {
            b->Args({alg, size});
        }
    }
}

void mac_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"alg", "bytes"});
    for (int64_t size : {small_message, large_message}) {
        b->Args({0, size});
        b->Args({1, size});
    }
}

void gmac_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"alg", "bytes"});
    for (int64_t size : {small_message, large_message}) {
        b->Args({2, size});
    }
}

void cipher_args(benchmark::internal::Benchmark* b) {
    b->ArgNames({"cipher", "bytes"});
    for (int64_t size : {small_message, large_message}) {
        for (int64_t c = 0; c < 4; ++c) {
            b->Args({c, size});
        }
    }
}

BENCHMARK(BM_smb2_sign)->Apply(signing_args);
BENCHMARK(BM_evp_mac)->Apply(mac_args);
BENCHMARK(BM_evp_gmac)->Apply(gmac_args);
BENCHMARK(BM_smb2_encrypt)->Apply(cipher_args);
BENCHMARK(BM_evp_encrypt)->Apply(cipher_args);
BENCHMARK(BM_smb2_decrypt)->Apply(cipher_args);
BENCHMARK(BM_evp_decrypt)->Apply(cipher_args);

} // namespace
