// SMB2/3 cryptography on OpenSSL 3: key derivation (MS-SMB2 3.1.4.2), signing
// (3.1.4.1: HMAC-SHA256, AES-CMAC, AES-GMAC), encryption (3.1.4.3: AES-CCM/GCM in the
// TRANSFORM_HEADER), and the 3.1.1 preauth integrity hash (3.3.5.4, 3.3.5.5).
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "common/byte_codec.hh"
#include "dataplane/smb2/wire.hh"

namespace smbx::smb2::crypto {

using preauth_hash = std::array<uint8_t, 64>;
using signature = std::array<uint8_t, 16>;

// Every fallible function reports failure in its return value, never by throwing: they
// run on the data path, where an escaped exception is std::terminate. Failures that are
// not the peer's doing (wrong key size, no such cipher, an OpenSSL error) are logged here
// with their reason; callers decide whether that fails the request or the connection.

// SP800-108 KDF in counter mode, PRF = HMAC-SHA256, r = 32, L = out_len * 8.
// `label` and `context` are passed exactly as MS-SMB2 3.1.4.2 lists them (labels
// include their terminating NUL). nullopt: out_len too large, or OpenSSL failed.
[[nodiscard]] std::optional<bytes> kdf(byte_span key, byte_span label, byte_span context,
                                       size_t out_len);

// hash = SHA-512(hash || message). False (hash unchanged or garbage): OpenSSL failed.
[[nodiscard]] bool preauth_update(preauth_hash& hash, byte_span message);

// Signature of a complete SMB2 message (header + body, then `payload`: the READ data
// that follows the body on the wire from its own buffer) as if its Signature field were
// zero; the message's own Signature field is ignored. For AES-GMAC the nonce is taken
// from the header (MessageId, SERVER_TO_REDIR flag, CANCEL command). nullopt: the
// message is shorter than an SMB2 header, the key has the wrong size, or OpenSSL failed.
[[nodiscard]] std::optional<signature> compute_signature(signing_algorithm alg, byte_span key,
                                                         byte_span message, byte_span payload = {});
// Constant-time comparison with the Signature field of `message`. False also when the
// signature cannot be computed: a message that cannot be verified is not verified.
[[nodiscard]] bool verify_signature(signing_algorithm alg, byte_span key, byte_span message);
// Writes the signature into the message's Signature field (sets nothing else). False:
// as compute_signature's nullopt; the message is left unsigned.
[[nodiscard]] bool sign_in_place(signing_algorithm alg, byte_span key, std::span<uint8_t> message,
                                 byte_span payload = {});

// Builds TRANSFORM_HEADER + ciphertext of `plaintext` (one SMB2 message or a compound
// chain). Flags/EncryptionAlgorithm is always 0x0001: the 3.1.1 Encrypted flag and the
// 3.0 value for AES-128-CCM coincide (2.2.41). nullopt: as encrypt_in_place.
[[nodiscard]] std::optional<bytes> encrypt_message(cipher c, byte_span key, uint64_t session_id,
                                                   byte_span plaintext);
// The same, in place: `head` then `payload` (together the plaintext; the payload is
// READ data in its own pool buffer) are encrypted where they lie, and the returned
// TRANSFORM_HEADER goes before them on the wire. CCM needs its plaintext in one piece:
// with CCM, pass the whole message as `head`. nullopt: no such cipher, wrong key size,
// a message too large, a split CCM plaintext, or OpenSSL failed; then the plaintext
// has been wiped if encryption had begun on it.
using transform_bytes = std::array<uint8_t, transform_header_size>;
[[nodiscard]] std::optional<transform_bytes> encrypt_in_place(cipher c, byte_span key,
                                                              uint64_t session_id,
                                                              std::span<uint8_t> head,
                                                              std::span<uint8_t> payload);
// Verifies and decrypts a TRANSFORM_HEADER message where it lies: on success the
// plaintext is message[transform_header_size..]. On failure (also: no such cipher,
// wrong key size) that part is wiped if decryption had begun on it.
[[nodiscard]] bool decrypt_in_place(cipher c, byte_span key, std::span<uint8_t> message);
// Verifies and decrypts a message that starts with a TRANSFORM_HEADER. nullopt when
// the header is malformed, authentication fails, or as decrypt_in_place.
[[nodiscard]] std::optional<bytes> decrypt_message(cipher c, byte_span key, byte_span message);

// Key sizes: 16 for 128-bit ciphers, 32 for 256-bit ones.
size_t cipher_key_size(cipher c);

// Constant-time equality for secrets and signatures.
bool equal_constant_time(byte_span a, byte_span b);

} // namespace smbx::smb2::crypto
