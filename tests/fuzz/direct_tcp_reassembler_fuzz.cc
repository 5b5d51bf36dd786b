// Feeds an arbitrary byte stream, cut into pieces whose sizes the input chooses, into
// the DPDK transport's Direct TCP reassembler (MS-SMB2 2.1: the shared framer,
// runtime/direct_tcp_framer.hh, lending from mbufs) as received segments, with the
// connection's limit as after a session.
// Input: [piece size u8][lend mask u8] then the stream; piece size 0 means 1; bit
// (i % 8) of the mask lets the reassembler lend messages from piece i (a message whole
// inside it is delivered as a view of the segment), bit 7 also keeps every delivered
// message alive until the end (else each is dropped at once, as the engine may).
// The stream is also fed as the io_uring backend does, with the rest of each large
// message put straight into the framer's direct_target().
// Invariants: no crash or sanitizer report (a lent message must not outlive its
// segment, nor read past it), every message has the length its header announced,
// the stream copied in one piece delivers the same messages or fails the same way,
// and once every message is dropped no segment is held.
#include <cstdint>
#include <cstdlib>
#include <cstring>
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

void check_size(const pool_buffer& m) {
    if (m.size() < 4 || m.size() > smbx::max_message_size) {
        std::abort();
    }
}

result run_segments(std::span<const uint8_t> stream, size_t piece, uint8_t mask) {
    result out;
    direct_tcp_reassembler r;
    r.set_max_message(smbx::max_message_size);
    const bool keep = mask & 0x80;
    std::vector<pool_buffer> kept;
    auto deliver = [&](pool_buffer m) {
        check_size(m);
        if (keep) {
            kept.push_back(std::move(m));
        } else {
            out.messages.emplace_back(m.data(), m.data() + m.size());
        }
    };
    size_t i = 0;
    for (size_t pos = 0; pos < stream.size() && out.ok; pos += piece, ++i) {
        auto segment =
            smbx::net::make_heap_packet(stream.subspan(pos, std::min(piece, stream.size() - pos)));
        out.ok = r.feed(std::move(segment), (mask >> (i % 8)) & 1, deliver);
    }
    for (auto& m : kept) {
        out.messages.emplace_back(m.data(), m.data() + m.size());
    }
    if (r.messages_lent() + r.messages_assembled() != out.messages.size()) {
        std::abort();
    }
    kept.clear();
    if (direct_tcp_reassembler::segments_lent() != 0) {
        std::abort(); // a message dropped without giving its segment back
    }
    return out;
}

result run_copied(std::span<const uint8_t> stream) {
    result out;
    direct_tcp_reassembler r;
    r.set_max_message(smbx::max_message_size);
    out.ok = r.feed(stream, [&out](pool_buffer m) {
        check_size(m);
        out.messages.emplace_back(m.data(), m.data() + m.size());
    });
    return out;
}

// As the io_uring backend feeds the framer: pieces as ring buffers, and while a large
// message's buffer is placed, its rest "received" straight into direct_target() in
// reads of the piece size. The same messages as the other runs, nothing written past
// the target (ASan), and every message byte either copied or received in place.
result run_direct(std::span<const uint8_t> stream, size_t piece) {
    result out;
    smbx::direct_tcp_framer f;
    f.set_max_message(smbx::max_message_size);
    auto deliver = [&out](pool_buffer m) {
        check_size(m);
        out.messages.emplace_back(m.data(), m.data() + m.size());
    };
    for (size_t pos = 0; pos < stream.size() && out.ok;) {
        size_t n = std::min(piece, stream.size() - pos);
        if (std::span<uint8_t> target = f.direct_target(); !target.empty()) {
            n = std::min(n, target.size());
            std::memcpy(target.data(), stream.data() + pos, n);
            f.received(n, deliver);
        } else {
            out.ok =
                f.feed(stream.subspan(pos, n), {}, deliver) == smbx::direct_tcp_framer::status::ok;
        }
        pos += n;
    }
    size_t total = f.pending();
    for (const auto& m : out.messages) {
        total += m.size();
    }
    if (total != f.stats().bytes_assembled + f.stats().bytes_direct) {
        std::abort();
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) {
        return 0;
    }
    size_t piece = data[0] ? data[0] : 1;
    uint8_t mask = data[1];
    std::span<const uint8_t> stream(data + 2, size - 2);
    result pieces = run_segments(stream, piece, mask);
    result whole = run_copied(stream);
    result direct = run_direct(stream, piece);
    if (pieces.ok != whole.ok || pieces.messages != whole.messages || direct.ok != whole.ok ||
        direct.messages != whole.messages) {
        std::abort();
    }
    return 0;
}
