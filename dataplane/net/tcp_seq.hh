// Sequence number arithmetic (RFC 9293 3.4): 32-bit numbers compared modulo 2^32, so
// "a before b" holds when b is less than 2^31 ahead of a, across the wrap.
#pragma once

#include <cstdint>

namespace smbx::net {

inline bool seq_lt(uint32_t a, uint32_t b) {
    return int32_t(a - b) < 0;
}
inline bool seq_le(uint32_t a, uint32_t b) {
    return int32_t(a - b) <= 0;
}
inline bool seq_gt(uint32_t a, uint32_t b) {
    return int32_t(a - b) > 0;
}
inline bool seq_ge(uint32_t a, uint32_t b) {
    return int32_t(a - b) >= 0;
}
inline uint32_t seq_max(uint32_t a, uint32_t b) {
    return seq_lt(a, b) ? b : a;
}
inline uint32_t seq_min(uint32_t a, uint32_t b) {
    return seq_lt(a, b) ? a : b;
}
// lo <= s < hi, modulo 2^32.
inline bool seq_in_range(uint32_t s, uint32_t lo, uint32_t hi) {
    return seq_le(lo, s) && seq_lt(s, hi);
}

} // namespace smbx::net
