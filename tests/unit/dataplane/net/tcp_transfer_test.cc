// Two stacks (a server and a client) joined by a simulated link that drops, duplicates,
// delays and reorders a given fraction of frames in each direction. Bulk transfers
// must arrive intact and show recovery in the counters; many connections opened and
// closed must leave no connection and no buffer behind.
#include <random>

#include "tests/unit/dataplane/net/net_test_util.hh"

using namespace smbx;
using namespace smbx::net;
using namespace smbx::net::test;

namespace {

struct link_faults {
    double loss = 0;
    double duplicate = 0;
    double reorder = 0; // extra delay of up to 3 ms for this fraction
};

class sim_link {
public:
    struct port : nic {
        sim_link* link = nullptr;
        int side = 0;
        mac_address address;
        size_t send_burst(std::span<const tx_frame> frames) override {
            for (auto& f : frames) {
                std::vector<uint8_t> bytes;
                f.copy_to(bytes);
                link->carry(side, std::move(bytes));
            }
            return frames.size();
        }
        mac_address mac() const override { return address; }
    };

    sim_link(link_faults faults, uint32_t seed) : _faults(faults), _rng(seed) {
        for (int i = 0; i < 2; ++i) {
            ports[i].link = this;
            ports[i].side = i;
            ports[i].address = mac_of(uint8_t(i + 1));
        }
    }

    void carry(int from, std::vector<uint8_t> frame) {
        ++carried;
        if (chance(_faults.loss)) {
            ++dropped;
            return;
        }
        time_us at = now + base_delay;
        if (chance(_faults.reorder)) {
            at += _rng() % 3000;
            ++reordered;
        }
        if (chance(_faults.duplicate)) {
            ++duplicated;
            _in_flight.push_back({at + _rng() % 1000, _order++, 1 - from, frame});
        }
        _in_flight.push_back({at, _order++, 1 - from, std::move(frame)});
    }

    // Delivers what is due at `now` into the stacks, then polls both.
    void step(stack* stacks[2]) {
        std::vector<flight> due;
        for (size_t i = 0; i < _in_flight.size();) {
            if (_in_flight[i].at <= now) {
                due.push_back(std::move(_in_flight[i]));
                _in_flight[i] = std::move(_in_flight.back());
                _in_flight.pop_back();
            } else {
                ++i;
            }
        }
        std::sort(due.begin(), due.end(),
                  [](auto& a, auto& b) { return a.at != b.at ? a.at < b.at : a.order < b.order; });
        for (auto& f : due) {
            stacks[f.to]->receive(make_heap_packet(f.bytes), now);
        }
        stacks[0]->poll(now);
        stacks[1]->poll(now);
    }
    bool idle() const { return _in_flight.empty(); }

    port ports[2];
    time_us now = 1'000'000;
    time_us base_delay = 200;
    uint64_t carried = 0, dropped = 0, duplicated = 0, reordered = 0;

private:
    struct flight {
        time_us at;
        uint64_t order; // sending order, for frames due at the same time
        int to;
        std::vector<uint8_t> bytes;
    };
    bool chance(double p) { return p > 0 && std::uniform_real_distribution<>(0, 1)(_rng) < p; }

    link_faults _faults;
    std::mt19937 _rng;
    std::vector<flight> _in_flight;
    uint64_t _order = 0;
};

// Sends `total` bytes in blocks once connected, closes after the echo has come back.
struct client_app : tcp_events {
    std::map<connection_id, std::vector<uint8_t>> sent, received;
    std::map<connection_id, close_reason> closed;
    size_t total = 0;
    size_t block = 64 * 1024;
    uint32_t seed = 1;

    void on_established(stack& s, connection_id id) override {
        auto data = pattern(total, seed + uint32_t(id));
        for (size_t off = 0; off < data.size(); off += block) {
            size_t n = std::min(block, data.size() - off);
            EXPECT_TRUE(s.send(id, make_tx_block(std::vector<uint8_t>(
                                       data.begin() + long(off), data.begin() + long(off + n)))));
        }
        sent[id] = std::move(data);
    }
    void on_data(stack& s, connection_id id, packet_buffer p) override {
        auto& r = received[id];
        r.insert(r.end(), p.data(), p.data() + p.size());
        if (r.size() == sent[id].size()) {
            s.close(id);
        }
    }
    void on_peer_closed(stack&, connection_id) override {}
    void on_closed(stack&, connection_id id, close_reason r) override { closed[id] = r; }
};

struct transfer_fixture {
    stack_config server_cfg, client_cfg;
    sim_link link;
    std::unique_ptr<stack> server, client;
    recording_app server_app;
    client_app client_side;

    transfer_fixture(link_faults faults, uint32_t seed) : link(faults, seed) {
        server_cfg.address = ip_of(1);
        client_cfg.address = ip_of(2);
        server = std::make_unique<stack>(link.ports[0], server_cfg);
        client = std::make_unique<stack>(link.ports[1], client_cfg);
        server_app.echo = true;
        server_app.close_on_peer_close = true;
        server->listen(445, &server_app);
    }
    // Steps the simulation until `done` or the simulated deadline.
    template <typename Done> bool run(Done done, time_us limit) {
        stack* stacks[2] = {server.get(), client.get()};
        time_us end = link.now + limit;
        while (link.now < end) {
            link.step(stacks);
            if (done()) {
                return true;
            }
            link.now += 100;
        }
        return false;
    }
    void drain_time_wait() {
        run([&] { return server->connection_count() == 0 && client->connection_count() == 0; },
            2 * server_cfg.time_wait);
    }
};

TEST(tcp_transfer, clean_link_moves_data_both_ways_without_retransmits) {
    transfer_fixture t({}, 1);
    t.client_side.total = 4 << 20;
    connection_id id = t.client->connect(ip_of(1), 445, 33000, &t.client_side, t.link.now);
    ASSERT_NE(id, 0u);
    ASSERT_TRUE(t.run([&] { return t.client_side.closed.count(id) > 0; }, 60'000'000));
    EXPECT_EQ(t.client_side.received[id], t.client_side.sent[id]);
    EXPECT_EQ(t.server->counters().tcp_retransmits, 0u);
    EXPECT_EQ(t.client->counters().tcp_retransmits, 0u);
    EXPECT_EQ(t.server->counters().tcp_out_of_order, 0u);
    t.drain_time_wait();
    EXPECT_EQ(t.server->connection_count(), 0u);
    EXPECT_EQ(t.client->connection_count(), 0u);
    EXPECT_EQ(t.server->counters().buffers_outstanding, 0u);
    EXPECT_EQ(t.client->counters().buffers_outstanding, 0u);
}

TEST(tcp_transfer, lossy_link_recovers_and_data_arrives_intact_both_ways) {
    transfer_fixture t({.loss = 0.02, .duplicate = 0.01, .reorder = 0.03}, 7);
    t.client_side.total = 8 << 20;
    connection_id id = t.client->connect(ip_of(1), 445, 33001, &t.client_side, t.link.now);
    ASSERT_TRUE(t.run([&] { return t.client_side.closed.count(id) > 0; }, 900'000'000));
    ASSERT_EQ(t.client_side.received[id].size(), t.client_side.sent[id].size());
    EXPECT_TRUE(t.client_side.received[id] == t.client_side.sent[id]);
    // The server saw exactly the client's bytes (before echoing them).
    ASSERT_EQ(t.server_app.received.size(), 1u);
    EXPECT_TRUE(t.server_app.received.begin()->second == t.client_side.sent[id]);
    auto& sc = t.server->counters();
    auto& cc = t.client->counters();
    EXPECT_GT(t.link.dropped, 0u);
    EXPECT_GT(sc.tcp_retransmits, 0u);
    EXPECT_GT(cc.tcp_retransmits, 0u);
    EXPECT_GT(sc.tcp_fast_retransmits + cc.tcp_fast_retransmits, 0u);
    EXPECT_GT(sc.tcp_out_of_order, 0u);
    EXPECT_GT(sc.tcp_duplicate_segments + cc.tcp_duplicate_segments, 0u);
    std::printf("link: %llu frames, %llu dropped, %llu duplicated, %llu reordered; "
                "server retransmits %llu (fast %llu, timeouts %llu), client retransmits %llu "
                "(fast %llu, timeouts %llu); simulated %.2f s\n",
                (unsigned long long)t.link.carried, (unsigned long long)t.link.dropped,
                (unsigned long long)t.link.duplicated, (unsigned long long)t.link.reordered,
                (unsigned long long)sc.tcp_retransmits, (unsigned long long)sc.tcp_fast_retransmits,
                (unsigned long long)sc.tcp_timeouts, (unsigned long long)cc.tcp_retransmits,
                (unsigned long long)cc.tcp_fast_retransmits, (unsigned long long)cc.tcp_timeouts,
                double(t.link.now - 1'000'000) / 1e6);
    t.drain_time_wait();
    EXPECT_EQ(t.server->connection_count(), 0u);
    EXPECT_EQ(t.client->connection_count(), 0u);
    EXPECT_EQ(sc.buffers_outstanding, 0u);
    EXPECT_EQ(cc.buffers_outstanding, 0u);
}

TEST(tcp_transfer, two_hundred_connections_open_and_close_without_leaks) {
    transfer_fixture t({.loss = 0.01, .duplicate = 0.01, .reorder = 0.02}, 11);
    t.client_side.total = 20000;
    t.client_side.block = 3000;
    std::vector<connection_id> ids;
    for (uint16_t i = 0; i < 200; ++i) {
        ids.push_back(
            t.client->connect(ip_of(1), 445, uint16_t(20000 + i), &t.client_side, t.link.now));
        ASSERT_NE(ids.back(), 0u);
    }
    ASSERT_TRUE(t.run([&] { return t.client_side.closed.size() == ids.size(); }, 600'000'000));
    for (auto id : ids) {
        EXPECT_EQ(t.client_side.closed[id], close_reason::normal);
        EXPECT_TRUE(t.client_side.received[id] == t.client_side.sent[id]);
    }
    t.drain_time_wait();
    auto& sc = t.server->counters();
    EXPECT_EQ(sc.tcp_connections_accepted, 200u);
    EXPECT_EQ(t.server_app.closed.size(), 200u);
    EXPECT_EQ(t.server->connection_count(), 0u);
    EXPECT_EQ(t.client->connection_count(), 0u);
    EXPECT_EQ(sc.buffers_outstanding, 0u);
    EXPECT_EQ(t.client->counters().buffers_outstanding, 0u);
}

TEST(tcp_transfer, server_sequence_numbers_wrap_during_a_transfer) {
    // Find an ISN secret that puts the server's ISN just below 2^32, so a 1 MiB echo
    // crosses the wrap in the middle.
    transfer_fixture probe({}, 3);
    flow_key key{ip_of(1), ip_of(2), 445, 33002};
    uint64_t secret = 1;
    for (;; ++secret) {
        stack_config c = probe.server_cfg;
        c.isn_secret = secret;
        capture_nic n(mac_of(1));
        stack s(n, c);
        uint32_t isn = s.initial_sequence(key, probe.link.now);
        if (isn >= 0xfff00000u) {
            break;
        }
    }
    transfer_fixture t({.loss = 0.01, .duplicate = 0, .reorder = 0.01}, 3);
    t.server_cfg.isn_secret = secret;
    t.server = std::make_unique<stack>(t.link.ports[0], t.server_cfg);
    t.server->listen(445, &t.server_app);
    t.client_side.total = 2 << 20;
    connection_id id = t.client->connect(ip_of(1), 445, 33002, &t.client_side, t.link.now);
    ASSERT_TRUE(t.run([&] { return t.client_side.closed.count(id) > 0; }, 300'000'000));
    EXPECT_TRUE(t.client_side.received[id] == t.client_side.sent[id]);
}

} // namespace
