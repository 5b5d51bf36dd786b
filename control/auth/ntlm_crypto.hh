// The primitives NTLMSSP needs (MS-NLMP 6: HMAC_MD5, MD5, RC4), on OpenSSL 3. RC4 lives in
// the legacy provider; load_providers() loads it (with the default one) once per process.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>

#include "common/byte_codec.hh"

typedef struct evp_cipher_ctx_st EVP_CIPHER_CTX;

namespace smbx::auth {

using md5_digest = std::array<uint8_t, 16>;

void load_providers();

// HMAC_MD5(key, part0 || part1 || ...) and MD5(part0 || part1 || ...).
md5_digest hmac_md5(byte_span key, std::initializer_list<byte_span> parts);
md5_digest md5(std::initializer_list<byte_span> parts);

// Cryptographically random bytes (server challenges).
void random_bytes(std::span<uint8_t> out);

// Equal length and contents, in time independent of the contents (secrets, MACs).
bool constant_time_equal(byte_span a, byte_span b);

// An RC4 key stream that persists across calls, as MS-NLMP's sealing "handle" does.
class rc4 {
public:
    explicit rc4(byte_span key);
    ~rc4();
    rc4(const rc4&) = delete;
    rc4& operator=(const rc4&) = delete;

    bytes apply(byte_span data);

private:
    EVP_CIPHER_CTX* _ctx = nullptr;
};

// UTF-16LE upper-casing for NTOWFv2's Uppercase(User): ASCII, Latin-1, basic Greek and
// Cyrillic (the letters user names use; Windows' full table is not reproduced).
bytes uppercase_utf16(byte_span utf16);

// NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(NT hash, UTF-16LE(Uppercase(User) + UserDom)).
md5_digest ntowf_v2(byte_span nt_hash, byte_span user_utf16, byte_span domain_utf16);

// Signing and sealing of one direction with extended session security (MS-NLMP 3.4.4.2,
// 3.4.5.2, 3.4.5.3). The RC4 handle persists, as sealing and signing share it.
class session_security {
public:
    enum class direction { client_to_server, server_to_client };
    enum class strength { bits_40, bits_56, bits_128 }; // NEGOTIATE_128 / NEGOTIATE_56

    session_security(byte_span exported_session_key, direction dir, strength s, bool key_exch);

    const md5_digest& signing_key() const { return _signing_key; }
    const md5_digest& sealing_key() const { return _sealing_key; }

    bytes seal(byte_span plain) { return _handle.apply(plain); }
    // NTLMSSP_MESSAGE_SIGNATURE: version 1, checksum, sequence number (MS-NLMP 2.2.2.9.2).
    std::array<uint8_t, 16> sign(uint32_t seq_num, byte_span message);

private:
    md5_digest _signing_key;
    md5_digest _sealing_key;
    bool _key_exch;
    rc4 _handle;
};

} // namespace smbx::auth
