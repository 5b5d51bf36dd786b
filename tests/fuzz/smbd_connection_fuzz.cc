// Drives a negotiated SMB Direct connection (rdma/smbd_connection) with arbitrary
// received messages interleaved with upper-layer sends, RDMA transfers, completions,
// timer ticks and disconnects. Invariants checked on every input: the engine never posts
// more sends than it holds credits for, never sends a message over the negotiated size,
// calls every RDMA callback exactly once, and reports on_closed exactly once, only
// after every posted buffer came back.
//
// Input: records of [op:1][len:1][len bytes]; see run() for the ops.
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "tests/fuzz/smbd_fuzz_support.hh"

using namespace smbx;
using namespace smbx::rdma;
using namespace smbx::rdma::testing;
using namespace smbx::rdma::fuzzing;

namespace {

struct events : smbd_connection_events {
    int closed = 0;
    size_t messages = 0;
    void on_message(bytes m) override { messages += m.empty() ? 0 : 1; }
    void on_closed() override { ++closed; }
};

bytes negotiate(uint16_t credits) {
    negotiate_request r{smbd_version_1, smbd_version_1, credits, 1364, 1024, 131072};
    byte_writer w;
    write_negotiate_request(w, r);
    return w.take();
}

void run(const uint8_t* data, size_t size) {
    fake_verbs_port port;
    // Few receive buffers at times, so that credits run short on both sides.
    port.receive_buffers = size ? 2 + data[0] / 8 : 40;
    port.send_slots = 8;
    port.rdma_slots = 4;
    events ev;
    smbd_settings settings;
    settings.receive_credit_max = 32;
    settings.max_fragmented_recv_size = 131072;
    settings.max_read_write_size = 65536;
    smbd_connection conn(port, ev, settings, "fuzz");
    auto now = smbd_clock::time_point() + std::chrono::hours(1);
    check(conn.start(now));
    bytes req = negotiate(size ? uint16_t(data[0] % 40 + 1) : 8);
    port.deliver(conn, req);
    port.complete_sends(conn);

    std::vector<bytes> locals; // RDMA buffers stay put while the engine holds them
    locals.reserve(1024);
    int rdma_started = 0;
    auto rdma_done = std::make_shared<int>(0);
    // The client's view of the credits: what it granted, what the server spent.
    credit_ledger credits;
    auto client_sends = [&](byte_span msg) {
        data_transfer_message m;
        if (parse_data_transfer(msg, m) == data_transfer_error::none) {
            credits.granted += m.header.credits_granted;
        }
        port.deliver(conn, msg);
    };
    size_t pos = size ? 1 : 0;
    while (pos + 2 <= size && locals.size() < 1000) {
        uint8_t op = data[pos];
        size_t len = std::min<size_t>(data[pos + 1], size - pos - 2);
        byte_span arg(data + pos + 2, len);
        pos += 2 + len;
        size_t sends_before = port.sent.size();
        switch (op % 9) {
        case 0: // a message from the client, as received
        case 1:
            client_sends(arg);
            break;
        case 2: { // a well-formed data transfer message around the bytes
            byte_writer w;
            uint16_t granted = len ? arg[0] % 8 : 1;
            uint32_t remaining = len > 1 ? arg[1] * 64u : 0;
            write_data_transfer_header(w, 32, granted, len > 2 ? arg[2] & 1 : 0, remaining,
                                       uint32_t(len));
            w.put(arg);
            client_sends(w.buffer());
            break;
        }
        case 3: // the SMB2 layer sends len * 37 bytes
            conn.send_message(bytes(len * 37, 0xAB),
                              len & 1 ? std::optional<uint32_t>(len) : std::nullopt);
            break;
        case 4:
            port.complete_sends(conn, !(len == 1 && arg[0] == 0xEE));
            break;
        case 5: { // RDMA read or write against descriptors from the bytes
            auto list = parse_buffer_descriptors(arg.first(len - len % 16));
            if (!list) {
                break;
            }
            for (auto& d : *list) {
                d.length %= 4096;
                d.offset %= 4096;
            }
            locals.emplace_back(total_length(*list) + (len & 7));
            auto cb = [rdma_done](bool) { ++*rdma_done; };
            auto r = len & 8 ? conn.rdma_read(*list, locals.back(), cb)
                             : conn.rdma_write(*list, locals.back(), cb);
            rdma_started += r == smbd_connection::rdma_result::started;
            break;
        }
        case 6:
            if (!port.rdma_queue.empty()) {
                port.complete_rdma(conn, !(len == 1 && arg[0] == 0xEE));
            }
            break;
        case 7: // time passes
            advance_time(conn, now, arg);
            break;
        case 8:
            end_connection(conn, arg);
            break;
        }
        credits.check_sends(port, conn, sends_before);
        check(ev.closed <= 1);
    }
    // Tear down: every buffer comes back, callbacks once, on_closed once.
    conn.close("end of input");
    port.flush(conn);
    check(ev.closed == 1);
    check(port.posted_receives == 0);
    check(*rdma_done == rdma_started);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    run(data, size);
    return 0;
}
