#include "dataplane/net/checksum.hh"

namespace smbx::net {

void internet_checksum::add_word(uint16_t v) {
    if (_odd) {
        // A word after an odd-length piece straddles the pending byte: add it swapped
        // into the positions it occupies in the byte stream.
        _sum += uint16_t(v >> 8) + (uint32_t(v & 0xff) << 8);
    } else {
        _sum += v;
    }
}

void internet_checksum::add(std::span<const uint8_t> data) {
    size_t i = 0;
    if (_odd && !data.empty()) {
        _sum += data[0]; // low byte of the word whose high byte ended the last piece
        _odd = false;
        i = 1;
    }
    uint64_t sum = 0;
    for (; i + 1 < data.size(); i += 2) {
        sum += uint32_t(data[i]) << 8 | data[i + 1];
    }
    _sum += sum;
    if (i < data.size()) {
        _sum += uint32_t(data[i]) << 8;
        _odd = true;
    }
}

uint16_t internet_checksum::finish() const {
    uint64_t s = _sum;
    while (s >> 16) {
        s = (s & 0xffff) + (s >> 16);
    }
    return uint16_t(~s);
}

} // namespace smbx::net
