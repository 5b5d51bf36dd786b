// The requester side of SMB Direct (rdma/smbd_connection after start_requester, what
// smbx-bench runs): an arbitrary negotiate response from the server, then arbitrary
// received messages interleaved with upper-layer sends, completions, timer ticks and
// disconnects. Invariants: no data message before the negotiate succeeded, none beyond
// the send credits the server granted or over the negotiated send size, the last credit
// spent only on a message that grants one, and on_closed exactly once after every
// buffer came back.
//
// Input: [credits:1][response length:1][response], then records [op:1][len:1][bytes].
#include <cstdint>
#include <cstdlib>

#include "tests/fuzz/smbd_fuzz_support.hh"

using namespace smbx;
using namespace smbx::rdma;
using namespace smbx::rdma::testing;
using namespace smbx::rdma::fuzzing;

namespace {

struct events : smbd_connection_events {
    int established = 0;
    int closed = 0;
    void on_established() override { ++established; }
    void on_message(bytes) override {}
    void on_closed() override { ++closed; }
};

void run(const uint8_t* data, size_t size) {
    if (size < 2) {
        return;
    }
    fake_verbs_port port;
    port.receive_buffers = 2 + data[0] / 8;
    port.send_slots = 8;
    events ev;
    smbd_settings settings;
    settings.receive_credit_max = 32;
    settings.send_credit_target = 32;
    settings.max_fragmented_recv_size = 131072;
    smbd_connection conn(port, ev, settings, "fuzz");
    auto now = smbd_clock::time_point() + std::chrono::hours(1);
    check(conn.start_requester(now));
    check(port.sent.size() == 1); // the negotiate request, without a credit
    size_t len = std::min<size_t>(data[1], size - 2);
    port.complete_sends(conn);
    port.deliver(conn, byte_span(data + 2, len));
    size_t pos = 2 + len;

    // The server's grants (negotiate response, then each message) against our sends.
    credit_ledger credits;
    credits.granted = ev.established ? conn.negotiated().credits_granted : 0;
    while (pos + 2 <= size) {
        uint8_t op = data[pos];
        size_t n = std::min<size_t>(data[pos + 1], size - pos - 2);
        byte_span arg(data + pos + 2, n);
        pos += 2 + n;
        size_t sends_before = port.sent.size();
        switch (op % 6) {
        case 0: { // a message from the server, as received
            data_transfer_message m;
            if (ev.established && parse_data_transfer(arg, m) == data_transfer_error::none) {
                credits.granted += m.header.credits_granted;
            }
            port.deliver(conn, arg);
            break;
        }
        case 1: { // a well-formed data transfer message around the bytes
            byte_writer w;
            uint16_t granted = n ? arg[0] % 8 : 1;
            write_data_transfer_header(w, 32, granted, n > 1 ? arg[1] & 1 : 0,
                                       n > 2 ? arg[2] * 64u : 0, uint32_t(n));
            w.put(arg);
            if (ev.established) {
                credits.granted += granted;
            }
            port.deliver(conn, w.buffer());
            break;
        }
        case 2: // the SMB2 layer sends n * 41 bytes
            conn.send_message(bytes(n * 41, 0xCD));
            break;
        case 3:
            port.complete_sends(conn, !(n == 1 && arg[0] == 0xEE));
            break;
        case 4: // time passes
            advance_time(conn, now, arg);
            break;
        case 5:
            end_connection(conn, arg);
            break;
        }
        check(port.sent.size() == sends_before || ev.established == 1);
        credits.check_sends(port, conn, sends_before);
        check(ev.closed <= 1);
    }
    conn.close("end of input");
    port.flush(conn);
    check(ev.closed == 1);
    check(port.posted_receives == 0);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    run(data, size);
    return 0;
}
