#include "dataplane/smb2/create_contexts.hh"

namespace smbx::smb2 {

std::optional<std::vector<create_context>> parse_create_contexts(byte_span buf) {
    std::vector<create_context> out;
    size_t pos = 0;
    while (pos < buf.size()) {
        byte_reader c(buf.subspan(pos));
        uint32_t next = c.u32();
        uint16_t name_offset = c.u16();
        uint16_t name_length = c.u16();
        c.u16(); // Reserved
        uint16_t data_offset = c.u16();
        uint32_t data_length = c.u32();
        create_context ctx;
        ctx.name = c.at(name_offset, name_length);
        if (data_length) {
            ctx.data = c.at(data_offset, data_length);
        }
        if (!c.ok() || name_length < 4 || (next && (next % 8 || next > c.size()))) {
            return std::nullopt;
        }
        if (next && next < size_t(name_offset) + name_length) {
            return std::nullopt;
        }
        out.push_back(ctx);
        if (!next) {
            return out;
        }
        pos += next;
    }
    return std::nullopt; // the last context must have Next == 0
}

} // namespace smbx::smb2
