// Feeds arbitrary frames into a TCP/IP stack that listens on port 445 with an echoing
// application, advancing time between frames so timers run too.
//
// Input: records of [control u8][length u16 little-endian][frame bytes]. Control bit 0
// asks the harness to fix up the frame first, so mutations get past the checks a
// fuzzer cannot learn: IPv4 and TCP/ICMP checksums, and a TCP acknowledgment number
// taken as relative to the ISN of the stack's last SYN-ACK to that port. Bits 1-7
// advance the clock by that many times 10 ms. Invariants checked: no crash or sanitizer report, and
// once every connection is aborted and the clock runs past every timer, no buffer is outstanding.
#include <cstdint>
#include <cstdlib>
#include <map>
#include <vector>

#include "dataplane/net/checksum.hh"
#include "dataplane/net/stack.hh"

using namespace smbx::net;

namespace {

struct null_nic : nic {
    size_t send_burst(std::span<const tx_frame> frames) override {
        // Touch every payload byte, as a NIC would, so bad fragment pointers show up.
        for (auto& f : frames) {
            // Remember the ISN of each SYN-ACK (Ethernet 14 + IPv4 20: TCP at 34).
            const uint8_t* t = f.header.data() + 34;
            if (f.header_size >= 54 && f.header[23] == 6 && (t[13] & 0x12) == 0x12) {
                uint16_t port = uint16_t(t[2] << 8 | t[3]);
                isn[port] = uint32_t(t[4]) << 24 | t[5] << 16 | t[6] << 8 | t[7];
            }
            for (size_t i = 0; i < f.fragment_count; ++i) {
                for (uint32_t j = 0; j < f.payload[i].size; ++j) {
                    sink += f.payload[i].data[j];
                }
            }
        }
        return frames.size() > 2 ? frames.size() - 1 : frames.size(); // sometimes "full"
    }
    mac_address mac() const override { return {{0x02, 0, 0, 0, 0, 1}}; }
    unsigned sink = 0;
    std::map<uint16_t, uint32_t> isn; // by the peer's port
};

struct echo_app : tcp_events {
    std::vector<connection_id> open;
    void on_established(stack&, connection_id id) override { open.push_back(id); }
    void on_data(stack& s, connection_id id, packet_buffer p) override {
        if (p.size() % 3 == 0) {
            s.send(id, make_tx_block(std::move(p)));
        } else if (p.size() % 7 == 0) {
            s.close(id);
        }
    }
    void on_peer_closed(stack& s, connection_id id) override { s.close(id); }
    void on_closed(stack&, connection_id id, close_reason) override { std::erase(open, id); }
};

void fix_up(std::vector<uint8_t>& f, const std::map<uint16_t, uint32_t>& isn) {
    if (f.size() < 34 || f[12] != 0x08 || f[13] != 0x00) {
        return;
    }
    uint8_t* ip = f.data() + 14;
    size_t ihl = size_t(ip[0] & 0x0f) * 4;
    if (ihl < 20 || 14 + ihl > f.size()) {
        return;
    }
    ip[10] = ip[11] = 0;
    uint16_t sum = checksum_of({ip, ihl});
    ip[10] = uint8_t(sum >> 8);
    ip[11] = uint8_t(sum);
    size_t total = size_t(ip[2]) << 8 | ip[3];
    if (total < ihl || 14 + total > f.size()) {
        return;
    }
    uint8_t* l4 = ip + ihl;
    size_t l4_size = total - ihl;
    if (ip[9] == 6 && l4_size >= 18) {
        auto known = isn.find(uint16_t(l4[0] << 8 | l4[1]));
        if (known != isn.end() && (l4[13] & 0x10)) {
            uint32_t ack = uint32_t(l4[8]) << 24 | l4[9] << 16 | l4[10] << 8 | l4[11];
            ack += known->second;
            l4[8] = uint8_t(ack >> 24);
            l4[9] = uint8_t(ack >> 16);
            l4[10] = uint8_t(ack >> 8);
            l4[11] = uint8_t(ack);
        }
        l4[16] = l4[17] = 0;
        internet_checksum c;
        c.add({ip + 12, 8});
        c.add_u16(6);
        c.add_u16(uint16_t(l4_size));
        c.add({l4, l4_size});
        uint16_t s = c.finish();
        l4[16] = uint8_t(s >> 8);
        l4[17] = uint8_t(s);
    } else if (ip[9] == 1 && l4_size >= 4) {
        l4[2] = l4[3] = 0;
        uint16_t s = checksum_of({l4, l4_size});
        l4[2] = uint8_t(s >> 8);
        l4[3] = uint8_t(s);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    null_nic card;
    stack_config cfg;
    cfg.address = ipv4_address::from_octets(10, 0, 0, 1);
    cfg.isn_secret = 1;
    cfg.receive_window = 64 * 1024;
    cfg.keepalive_idle = 5'000'000;
    cfg.keepalive_interval = 1'000'000;
    cfg.time_wait = 2'000'000;
    echo_app app;
    time_us now = 1'000'000;
    {
        stack s(card, cfg);
        s.listen(445, &app);
        size_t pos = 0;
        while (pos + 3 <= size) {
            uint8_t control = data[pos];
            size_t len = size_t(data[pos + 1]) | size_t(data[pos + 2]) << 8;
            pos += 3;
            len = std::min(len, size - pos);
            std::vector<uint8_t> frame(data + pos, data + pos + len);
            pos += len;
            if (control & 1) {
                fix_up(frame, card.isn);
            }
            now += time_us(control >> 1) * 10'000;
            s.receive(make_heap_packet(frame), now);
            s.poll(now);
        }
        for (auto id : std::vector<connection_id>(app.open)) {
            s.abort(id);
        }
        for (int i = 0; i < 300; ++i) { // past SYN-ACK retries (1+2+...+64 s)
            now += 1'000'000;
            s.poll(now);
        }
        if (s.connection_count() != 0 || s.counters().buffers_outstanding != 0) {
            std::abort();
        }
    }
    return 0;
}
