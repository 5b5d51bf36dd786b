// A server-side smbd_connection on a fake_verbs_port, plus the client's half of the
// protocol as plain message builders, for the engine's unit tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "common/byte_codec.hh"
#include "rdma/smbd_connection.hh"
#include "tests/unit/rdma/fake_verbs_port.hh"

namespace smbx::rdma::testing {

inline bytes negotiate_request_bytes(uint16_t credits = 255, uint32_t preferred_send = 1364,
                                     uint32_t max_receive = 1364, uint32_t max_fragmented = 1048576,
                                     uint16_t min_version = smbd_version_1,
                                     uint16_t max_version = smbd_version_1) {
    negotiate_request r{min_version,    max_version, credits,
                        preferred_send, max_receive, max_fragmented};
    byte_writer w;
    write_negotiate_request(w, r);
    return w.take();
}

// A client data transfer message: header at 24 as 3.1.5.4 has it, then the payload.
inline bytes data_bytes(byte_span payload, uint16_t granted = 0, uint32_t remaining = 0,
                        uint16_t flags = 0, uint16_t requested = 255) {
    byte_writer w;
    write_data_transfer_header(w, requested, granted, flags, remaining, uint32_t(payload.size()));
    w.put(payload);
    return w.take();
}

inline bytes pattern(size_t n, uint8_t seed = 1) {
    bytes b(n);
    for (size_t i = 0; i < n; ++i) {
        b[i] = uint8_t(seed + i * 7 + (i >> 8));
    }
    return b;
}

struct harness : smbd_connection_events {
    fake_verbs_port port;
    smbd_settings settings;
    std::unique_ptr<smbd_connection> conn;
    std::vector<bytes> messages; // delivered to the upper layer
    int closed = 0;
    smbd_clock::time_point t0 = smbd_clock::time_point() + std::chrono::hours(1);

    void on_message(bytes m) override { messages.push_back(std::move(m)); }
    void on_closed() override { ++closed; }

    void start() {
        conn = std::make_unique<smbd_connection>(port, *this, settings, "test-client");
        ASSERT_TRUE(conn->start(t0));
    }
    // Starts and negotiates; returns the parsed negotiate response.
    negotiate_response negotiate(bytes request = negotiate_request_bytes()) {
        start();
        port.deliver(*conn, request);
        EXPECT_EQ(port.sent.size(), 1u);
        auto rsp = parse_negotiate_response(port.sent.at(0).data);
        port.complete_sends(*conn);
        return rsp.value_or(negotiate_response{});
    }
    // The client sends one data transfer message.
    void client_sends(byte_span payload, uint16_t granted = 0, uint32_t remaining = 0,
                      uint16_t flags = 0, uint16_t requested = 255) {
        bytes m = data_bytes(payload, granted, remaining, flags, requested);
        port.deliver(*conn, m);
    }
    // Data transfer messages the server posted from index `from` on.
    std::vector<data_transfer_message> sent_data(size_t from = 1) {
        std::vector<data_transfer_message> out;
        for (size_t i = from; i < port.sent.size(); ++i) {
            data_transfer_message m;
            EXPECT_EQ(parse_data_transfer(port.sent[i].data, m), data_transfer_error::none);
            out.push_back(m);
        }
        return out;
    }
    void poll_at(std::chrono::milliseconds after_start) { conn->poll(t0 + after_start); }
};

} // namespace smbx::rdma::testing
