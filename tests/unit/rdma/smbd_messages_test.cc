#include "rdma/smbd_messages.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::rdma;

namespace {

// The negotiate request of MS-SMBD 4.1 (version 1.0, 10 credits, 1 KiB sends and
// receives, 128 KiB fragmented), byte for byte.
const bytes spec_negotiate_request = {0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x04,
                                      0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00};

bytes data_message(uint16_t req, uint16_t granted, uint16_t flags, uint32_t remaining,
                   uint32_t offset, uint32_t length, size_t total) {
    byte_writer w;
    w.u16(req);
    w.u16(granted);
    w.u16(flags);
    w.u16(0xBEEF); // Reserved: must be ignored
    w.u32(remaining);
    w.u32(offset);
    w.u32(length);
    while (w.size() < total) {
        w.u8(uint8_t(w.size()));
    }
    bytes b = w.take();
    b.resize(total);
    return b;
}

} // namespace

TEST(smbd_messages, parses_the_spec_example_negotiate_request) {
    auto req = parse_negotiate_request(spec_negotiate_request);
    ASSERT_TRUE(req);
    EXPECT_EQ(req->min_version, 0x0100);
    EXPECT_EQ(req->max_version, 0x0100);
    EXPECT_EQ(req->credits_requested, 10);
    EXPECT_EQ(req->preferred_send_size, 1024u);
    EXPECT_EQ(req->max_receive_size, 1024u);
    EXPECT_EQ(req->max_fragmented_size, 131072u);

    byte_writer w;
    write_negotiate_request(w, *req);
    EXPECT_EQ(w.buffer(), spec_negotiate_request);
}

TEST(smbd_messages, negotiate_request_shorter_than_20_bytes_is_refused) {
    byte_span shorter(spec_negotiate_request.data(), 19);
    EXPECT_FALSE(parse_negotiate_request(shorter));
    EXPECT_FALSE(parse_negotiate_request({}));
}

TEST(smbd_messages, negotiate_response_layout_matches_2_2_2) {
    negotiate_response rsp;
    rsp.negotiated_version = 0x0100;
    rsp.credits_requested = 255;
    rsp.credits_granted = 10;
    rsp.status = 0xC00000BB;
    rsp.max_read_write_size = 0x00100000;
    rsp.preferred_send_size = 1364;
    rsp.max_receive_size = 8192;
    rsp.max_fragmented_size = 0x00100000;
    byte_writer w;
    write_negotiate_response(w, rsp);
    ASSERT_EQ(w.size(), negotiate_response_size);
    const bytes& b = w.buffer();
    // NegotiatedVersion at 4, Reserved at 6, CreditsGranted at 10, Status at 12,
    // MaxFragmentedSize at 28.
    EXPECT_EQ(b[4], 0x00);
    EXPECT_EQ(b[5], 0x01);
    EXPECT_EQ(b[6], 0);
    EXPECT_EQ(b[7], 0);
    EXPECT_EQ(b[10], 10);
    EXPECT_EQ(b[12], 0xBB);
    EXPECT_EQ(b[15], 0xC0);
    EXPECT_EQ(b[30], 0x10);

    auto back = parse_negotiate_response(b);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->credits_requested, 255);
    EXPECT_EQ(back->credits_granted, 10);
    EXPECT_EQ(back->status, 0xC00000BBu);
    EXPECT_EQ(back->preferred_send_size, 1364u);
    EXPECT_EQ(back->max_receive_size, 8192u);
    EXPECT_EQ(back->max_fragmented_size, 0x00100000u);
    EXPECT_FALSE(parse_negotiate_response(byte_span(b.data(), 31)));
}

TEST(smbd_messages, data_transfer_with_payload_at_offset_24) {
    bytes msg = data_message(255, 7, smbd_flag_response_requested, 1000, 24, 8, 32);
    data_transfer_message m;
    ASSERT_EQ(parse_data_transfer(msg, m), data_transfer_error::none);
    EXPECT_EQ(m.header.credits_requested, 255);
    EXPECT_EQ(m.header.credits_granted, 7);
    EXPECT_EQ(m.header.flags, smbd_flag_response_requested);
    EXPECT_EQ(m.header.remaining_data_length, 1000u);
    ASSERT_EQ(m.payload.size(), 8u);
    EXPECT_EQ(m.payload.data(), msg.data() + 24);
}

TEST(smbd_messages, empty_data_transfer_of_20_bytes_is_accepted) {
    bytes msg = data_message(1, 0, 0, 0, 0, 0, 20);
    data_transfer_message m;
    ASSERT_EQ(parse_data_transfer(msg, m), data_transfer_error::none);
    EXPECT_TRUE(m.payload.empty());
}

TEST(smbd_messages, data_transfer_structural_errors) {
    data_transfer_message m;
    bytes msg = data_message(1, 0, 0, 0, 0, 0, 20);
    msg.pop_back();
    EXPECT_EQ(parse_data_transfer(msg, m), data_transfer_error::too_short);
    msg = data_message(1, 0, 0, 0, 28, 4, 32); // 28 is 4-aligned, not 8-aligned
    EXPECT_EQ(parse_data_transfer(msg, m), data_transfer_error::misaligned_offset);
    msg = data_message(1, 0, 0, 0, 24, 9, 32); // one byte past the end
    EXPECT_EQ(parse_data_transfer(msg, m), data_transfer_error::payload_outside);
    msg = data_message(1, 0, 0, 0, 24, 0xFFFFFFF0u, 32); // offset + length wraps 32 bits
    EXPECT_EQ(parse_data_transfer(msg, m), data_transfer_error::payload_outside);
    msg = data_message(1, 0, 0, 0, 8, 8, 32); // payload over the header fields
    EXPECT_EQ(parse_data_transfer(msg, m), data_transfer_error::payload_in_header);
    msg = data_message(1, 0, 0, 0, 24, 8, 32);
    EXPECT_EQ(parse_data_transfer(msg, m), data_transfer_error::none);
}

TEST(smbd_messages, header_writer_follows_3_1_5_4) {
    byte_writer with;
    write_data_transfer_header(with, 255, 3, 0, 500, 100);
    ASSERT_EQ(with.size(), data_transfer_header_size);
    bytes msg = with.take();
    msg.resize(msg.size() + 100, 0x5A);
    data_transfer_message m;
    ASSERT_EQ(parse_data_transfer(msg, m), data_transfer_error::none);
    EXPECT_EQ(m.header.data_offset, 24u);
    EXPECT_EQ(m.header.data_length, 100u);
    EXPECT_EQ(m.header.remaining_data_length, 500u);
    EXPECT_EQ(m.header.credits_granted, 3);

    byte_writer empty;
    write_data_transfer_header(empty, 255, 0, smbd_flag_response_requested, 0, 0);
    ASSERT_EQ(empty.size(), data_transfer_min_size);
    ASSERT_EQ(parse_data_transfer(empty.buffer(), m), data_transfer_error::none);
    EXPECT_EQ(m.header.data_offset, 0u);
    EXPECT_EQ(m.header.flags, smbd_flag_response_requested);
}
