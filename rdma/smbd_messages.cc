#include "rdma/smbd_messages.hh"

namespace smbx::rdma {

std::optional<negotiate_request> parse_negotiate_request(byte_span msg) {
    if (msg.size() < negotiate_request_size) {
        return std::nullopt;
    }
    byte_reader r(msg);
    negotiate_request req;
    req.min_version = r.u16();
    req.max_version = r.u16();
    r.skip(2); // Reserved: ignored on receipt (2.2.1)
    req.credits_requested = r.u16();
    req.preferred_send_size = r.u32();
    req.max_receive_size = r.u32();
    req.max_fragmented_size = r.u32();
    return req;
}

void write_negotiate_request(byte_writer& w, const negotiate_request& req) {
    w.u16(req.min_version);
    w.u16(req.max_version);
    w.u16(0);
    w.u16(req.credits_requested);
    w.u32(req.preferred_send_size);
    w.u32(req.max_receive_size);
    w.u32(req.max_fragmented_size);
}

std::optional<negotiate_response> parse_negotiate_response(byte_span msg) {
    if (msg.size() < negotiate_response_size) {
        return std::nullopt;
    }
    byte_reader r(msg);
    negotiate_response rsp;
    rsp.min_version = r.u16();
    rsp.max_version = r.u16();
    rsp.negotiated_version = r.u16();
    r.skip(2); // Reserved
    rsp.credits_requested = r.u16();
    rsp.credits_granted = r.u16();
    rsp.status = r.u32();
    rsp.max_read_write_size = r.u32();
    rsp.preferred_send_size = r.u32();
    rsp.max_receive_size = r.u32();
    rsp.max_fragmented_size = r.u32();
    return rsp;
}

void write_negotiate_response(byte_writer& w, const negotiate_response& rsp) {
    w.u16(rsp.min_version);
    w.u16(rsp.max_version);
    w.u16(rsp.negotiated_version);
    w.u16(0);
    w.u16(rsp.credits_requested);
    w.u16(rsp.credits_granted);
    w.u32(rsp.status);
    w.u32(rsp.max_read_write_size);
    w.u32(rsp.preferred_send_size);
    w.u32(rsp.max_receive_size);
    w.u32(rsp.max_fragmented_size);
}

const char* describe(data_transfer_error e) {
    switch (e) {
    case data_transfer_error::none:
        return "ok";
    case data_transfer_error::too_short:
        return "shorter than 20 bytes";
    case data_transfer_error::misaligned_offset:
        return "DataOffset not 8-byte aligned";
    case data_transfer_error::payload_outside:
        return "DataOffset + DataLength beyond the message";
    case data_transfer_error::payload_in_header:
        return "DataOffset inside the header";
    }
    return "?";
}

data_transfer_error parse_data_transfer(byte_span msg, data_transfer_message& out) {
    if (msg.size() < data_transfer_min_size) {
        return data_transfer_error::too_short;
    }
    byte_reader r(msg);
    data_transfer_header& h = out.header;
    h.credits_requested = r.u16();
    h.credits_granted = r.u16();
    h.flags = r.u16();
    r.skip(2); // Reserved: ignored on receipt (2.2.3)
    h.remaining_data_length = r.u32();
    h.data_offset = r.u32();
    h.data_length = r.u32();
    // 3.1.5.8: DataOffset 8-byte aligned, DataOffset + DataLength within the message
    // (64-bit sum: both fields are peer-controlled).
    if (h.data_offset % 8 != 0) {
        return data_transfer_error::misaligned_offset;
    }
    if (uint64_t(h.data_offset) + h.data_length > msg.size()) {
        return data_transfer_error::payload_outside;
    }
    if (h.data_length > 0 && h.data_offset < data_transfer_min_size) {
        return data_transfer_error::payload_in_header;
    }
    out.payload = msg.subspan(h.data_offset, h.data_length);
    return data_transfer_error::none;
}

void write_data_transfer_header(byte_writer& w, uint16_t credits_requested,
                                uint16_t credits_granted, uint16_t flags,
                                uint32_t remaining_data_length, uint32_t payload_length) {
    w.u16(credits_requested);
    w.u16(credits_granted);
    w.u16(flags);
    w.u16(0); // Reserved
    w.u32(remaining_data_length);
    // 3.1.5.4: an empty message has DataOffset 0, DataLength 0 and no Padding.
    w.u32(payload_length ? uint32_t(data_transfer_header_size) : 0);
    w.u32(payload_length);
    if (payload_length) {
        w.u32(0); // Padding up to the 8-byte aligned DataOffset
    }
}

} // namespace smbx::rdma
