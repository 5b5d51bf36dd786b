// Feeds an arbitrary byte stream, cut into pieces whose sizes the input chooses, into
// the DPDK transport's Direct TCP reassembler (MS-SMB2 2.1). Input: [piece size u8]
// then the stream; piece size 0 means 1. Invariants: no crash or sanitizer report,
// every message delivered has the length its header announced (at least 4 bytes),
// and the same stream fed in one piece delivers the same messages or fails the same way.
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "dataplane/dpdk/direct_tcp_reassembler.hh"

using smbx::pool_buffer;
using smbx::dpdk::direct_tcp_reassembler;

namespace {

struct result {
    bool ok = true;
    std::vector<std::vector<uint8_t>> messages;
};

result run(std::span<const uint8_t> stream, size_t piece) {
    result out;
    direct_tcp_reassembler r;
    auto deliver = [&out](pool_buffer m) {
        if (m.size() < 4 || m.size() > direct_tcp_reassembler::max_message_size) {
            std::abort();
        }
        out.messages.emplace_back(m.data(), m.data() + m.size());
    };
    for (size_t pos = 0; pos < stream.size() && out.ok; pos += piece) {
        out.ok = r.feed(stream.subspan(pos, std::min(piece, stream.size() - pos)), deliver);
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) {
        return 0;
    }
    size_t piece = data[0] ? data[0] : 1;
    std::span<const uint8_t> stream(data + 1, size - 1);
    result pieces = run(stream, piece);
    result whole = run(stream, stream.size() ? stream.size() : 1);
    if (pieces.ok != whole.ok || pieces.messages != whole.messages) {
        std::abort();
    }
    return 0;
}
