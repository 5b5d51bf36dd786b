// The Internet checksum (RFC 1071) over data given in pieces of any length, as TCP
// needs for the pseudo-header, the header and payload fragments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace smbx::net {

class internet_checksum {
public:
    void add(std::span<const uint8_t> data);
    void add_u16(uint16_t v) { add_word(v); }
    void add_u32(uint32_t v) {
        add_word(uint16_t(v >> 16));
        add_word(uint16_t(v));
    }
    // The one's complement of the folded sum, ready to store big-endian. Over data that
    // already contains a correct checksum this is 0.
    uint16_t finish() const;

private:
    void add_word(uint16_t v);
    uint64_t _sum = 0;
    bool _odd = false; // the last piece ended in the middle of a 16-bit word
};

inline uint16_t checksum_of(std::span<const uint8_t> data) {
    internet_checksum c;
    c.add(data);
    return c.finish();
}

} // namespace smbx::net
