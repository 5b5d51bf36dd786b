#include "dataplane/runtime/buffer_descriptor.hh"

namespace smbx {

std::optional<std::vector<buffer_descriptor_v1>> parse_buffer_descriptors(byte_span blob) {
    if (blob.empty() || blob.size() % buffer_descriptor_v1_size != 0) {
        return std::nullopt;
    }
    byte_reader r(blob);
    std::vector<buffer_descriptor_v1> out(blob.size() / buffer_descriptor_v1_size);
    for (auto& d : out) {
        d.offset = r.u64();
        d.token = r.u32();
        d.length = r.u32();
    }
    return out;
}

void write_buffer_descriptors(byte_writer& w, std::span<const buffer_descriptor_v1> list) {
    for (const auto& d : list) {
        w.u64(d.offset);
        w.u32(d.token);
        w.u32(d.length);
    }
}

uint64_t total_length(std::span<const buffer_descriptor_v1> list) {
    uint64_t sum = 0;
    for (const auto& d : list) {
        sum += d.length;
    }
    return sum;
}

} // namespace smbx
