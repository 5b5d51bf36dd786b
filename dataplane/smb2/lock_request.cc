#include "dataplane/smb2/lock_request.hh"

#include "dataplane/vfs/open_lookup.hh"

namespace smbx::smb2 {

namespace {
constexpr size_t lock_element_size = 24; // 2.2.26.1
} // namespace

std::optional<lock_request> parse_lock_request(byte_span body) {
    byte_reader b(body);
    b.u16(); // StructureSize: the command table checked it
    uint16_t count = b.u16();
    b.u32(); // LockSequenceNumber / LockSequenceIndex
    lock_request out;
    out.id = vfs::read_file_id(b);
    if (!b.ok() || count == 0 || b.remaining() / lock_element_size < count) {
        return std::nullopt;
    }
    out.locks.reserve(count);
    for (uint16_t i = 0; i < count; ++i) {
        lock_element l;
        l.offset = b.u64();
        l.length = b.u64();
        l.flags = b.u32();
        b.u32(); // Reserved
        out.locks.push_back(l);
    }
    return out;
}

} // namespace smbx::smb2
