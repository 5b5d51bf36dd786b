#include "control/auth/nt_hash.hh"

#include <stdexcept>

#include <openssl/evp.h>

#include "common/byte_codec.hh"
#include "control/auth/ntlm_crypto.hh"

namespace smbx::auth {

nt_hash compute_nt_hash(std::string_view password_utf8) {
    load_providers(); // MD4 lives in OpenSSL 3's legacy provider
    bytes utf16 = utf16le(password_utf8);
    nt_hash out{};
    EVP_MD* md4 = EVP_MD_fetch(nullptr, "MD4", nullptr);
    if (!md4) {
        throw std::runtime_error("MD4 unavailable (OpenSSL legacy provider not loaded)");
    }
    unsigned int len = 0;
    int ok = EVP_Digest(utf16.data(), utf16.size(), out.data(), &len, md4, nullptr);
    EVP_MD_free(md4);
    if (ok != 1 || len != out.size()) {
        throw std::runtime_error("MD4 digest failed");
    }
    return out;
}

} // namespace smbx::auth
