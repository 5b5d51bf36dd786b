// The little ASN.1 DER that SPNEGO needs (X.690 8.1): single-byte tags, definite lengths.
// Parsing is not recursive; each constructed element is entered explicitly, and a reader
// refuses to go deeper than max_depth so hostile nesting cannot cost anything.
#pragma once

#include <cstdint>
#include <optional>

#include "common/byte_codec.hh"

namespace smbx::auth::der {

constexpr uint8_t tag_bit_string = 0x03;
constexpr uint8_t tag_octet_string = 0x04;
constexpr uint8_t tag_oid = 0x06;
constexpr uint8_t tag_enumerated = 0x0a;
constexpr uint8_t tag_general_string = 0x1b;
constexpr uint8_t tag_sequence = 0x30;
constexpr uint8_t tag_application_0 = 0x60; // GSS-API InitialContextToken (RFC 2743 3.1)

// [n] EXPLICIT, constructed, context-specific.
constexpr uint8_t context(unsigned n) {
    return uint8_t(0xa0 | n);
}

constexpr unsigned max_depth = 8;

struct element {
    uint8_t tag = 0;
    byte_span content;  // the value
    byte_span encoding; // tag, length and value, as received
};

// Reads consecutive elements. Malformed input (multi-byte tags, indefinite or over-long
// lengths, a length past the end) makes the reader fail, stickily.
class reader {
public:
    explicit reader(byte_span data, unsigned depth = 0);

    bool ok() const { return !_failed; }
    bool at_end() const { return _failed || _in.remaining() == 0; }
    void fail() { _failed = true; }

    std::optional<element> next();
    // The next element if it has this tag; otherwise fails.
    std::optional<element> expect(uint8_t tag);
    // The next element if it has this tag; otherwise nothing is consumed.
    std::optional<element> optional(uint8_t tag);
    // A reader over a constructed element's content, one level deeper.
    reader enter(const element& e) const;

private:
    byte_reader _in;
    unsigned _depth = 0;
    bool _failed = false;
};

void put(bytes& out, uint8_t tag, byte_span content);
bytes encode(uint8_t tag, byte_span content);

} // namespace smbx::auth::der
