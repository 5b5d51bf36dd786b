#include "dataplane/smb2/wire.hh"

namespace smbx::smb2 {

bool parse_header(byte_span message, header& h) {
    byte_reader r(message);
    if (r.u32() != protocol_id || r.u16() != header_size) {
        return false;
    }
    h.credit_charge = r.u16();
    h.status = r.u32();
    h.cmd = static_cast<command>(r.u16());
    h.credits = r.u16();
    h.flags = r.u32();
    h.next_command = r.u32();
    h.message_id = r.u64();
    if (h.flags & flag_async_command) {
        h.async_id = r.u64();
        h.process_id = 0;
        h.tree_id = 0;
    } else {
        h.async_id = 0;
        h.process_id = r.u32();
        h.tree_id = r.u32();
    }
    h.session_id = r.u64();
    r.copy_to(h.signature.data(), 16);
    return r.ok();
}

void write_header(byte_writer& w, const header& h) {
    w.buffer().reserve(w.size() + header_size); // one allocation, not one per doubling
    w.u32(protocol_id);
    w.u16(header_size);
    w.u16(h.credit_charge);
    w.u32(h.status);
    w.u16(static_cast<uint16_t>(h.cmd));
    w.u16(h.credits);
    w.u32(h.flags);
    w.u32(h.next_command);
    w.u64(h.message_id);
    if (h.flags & flag_async_command) {
        w.u64(h.async_id);
    } else {
        w.u32(h.process_id);
        w.u32(h.tree_id);
    }
    w.u64(h.session_id);
    w.put(h.signature.data(), 16);
}

bool parse_transform_header(byte_span message, transform_header& t) {
    byte_reader r(message);
    if (r.u32() != transform_protocol_id) {
        return false;
    }
    r.copy_to(t.signature.data(), 16);
    r.copy_to(t.nonce.data(), 16);
    t.original_message_size = r.u32();
    r.skip(2);
    t.flags = r.u16();
    t.session_id = r.u64();
    return r.ok();
}

void write_transform_header(byte_writer& w, const transform_header& t) {
    w.u32(transform_protocol_id);
    w.put(t.signature.data(), 16);
    w.put(t.nonce.data(), 16);
    w.u32(t.original_message_size);
    w.u16(0);
    w.u16(t.flags);
    w.u64(t.session_id);
}

} // namespace smbx::smb2
