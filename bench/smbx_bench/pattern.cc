#include "bench/smbx_bench/pattern.hh"

namespace smbx::bench {

namespace {

// splitmix64: cheap and well mixed, so shifted or stale blocks never look right.
uint64_t word_at(uint64_t word_offset, uint64_t seed) {
    uint64_t z = word_offset * 0x9E3779B97F4A7C15ull + seed;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint8_t byte_at(uint64_t pos, uint64_t seed) {
    return uint8_t(word_at(pos / 8, seed) >> (8 * (pos % 8)));
}

} // namespace

void fill_pattern(std::span<uint8_t> out, uint64_t offset, uint64_t seed) {
    size_t i = 0;
    while (i < out.size() && (offset + i) % 8) {
        out[i] = byte_at(offset + i, seed);
        ++i;
    }
    for (; i + 8 <= out.size(); i += 8) {
        uint64_t w = word_at((offset + i) / 8, seed);
        for (size_t k = 0; k < 8; ++k) {
            out[i + k] = uint8_t(w >> (8 * k));
        }
    }
    for (; i < out.size(); ++i) {
        out[i] = byte_at(offset + i, seed);
    }
}

std::optional<uint64_t> find_mismatch(byte_span data, uint64_t offset, uint64_t seed) {
    for (size_t i = 0; i < data.size(); ++i) {
        if ((offset + i) % 8 == 0 && i + 8 <= data.size()) {
            uint64_t w = word_at((offset + i) / 8, seed);
            bool same = true;
            for (size_t k = 0; k < 8; ++k) {
                same = same && data[i + k] == uint8_t(w >> (8 * k));
            }
            if (same) {
                i += 7;
                continue;
            }
        }
        if (data[i] != byte_at(offset + i, seed)) {
            return offset + i;
        }
    }
    return std::nullopt;
}

} // namespace smbx::bench
