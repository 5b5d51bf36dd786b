// A test mode of the stack (`dpdk impair`): a NIC decorator that drops, duplicates and
// reorders a configured fraction of frames in each direction, so that TCP's loss
// recovery (retransmission timer, fast retransmit, out-of-order queue, duplicate
// segments) is exercised over a real port. The kernel here has no netem qdisc; this
// puts the same faults between the stack and the port instead.
//
// Transmit: the stack sends through it (it is the stack's nic); it forwards to `inner`.
// Receive: the port pushes frames into it (it is a frame_receiver) and it forwards them
// to the receiver set with set_receiver (the stack).
//
// Reordering holds one frame back until the next frame in the same direction has gone
// (or until flush() finds it held longer than max_hold). A frame the inner NIC does not
// take is lost like a dropped one: send_burst always reports every frame taken.
// Decisions come from a seeded PRNG, so a run is repeatable for the same frame sequence.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "dataplane/net/nic.hh"
#include "dataplane/net/stack_config.hh"

namespace smbx::net {

struct impairment_counters {
    uint64_t tx_dropped = 0;
    uint64_t tx_duplicated = 0;
    uint64_t tx_reordered = 0;
    uint64_t rx_dropped = 0;
    uint64_t rx_duplicated = 0;
    uint64_t rx_reordered = 0;
};

// What happens to one frame; drawn from the fractions of an impairment.
enum class frame_fate { pass, drop, duplicate, hold };

class fate_picker {
public:
    fate_picker(const impairment& config, uint64_t stream);
    frame_fate next();

private:
    uint64_t next_random();
    impairment _config;
    uint64_t _state;
};

class impaired_nic final : public nic, public frame_receiver {
public:
    static constexpr time_us max_hold = 2'000; // a held frame waits at most this long

    impaired_nic(nic& inner, const impairment& config);
    // Held frames are given back unsent. Call discard() earlier if the stack that owns
    // their tx blocks goes first.
    ~impaired_nic() override;
    impaired_nic(const impaired_nic&) = delete;
    impaired_nic& operator=(const impaired_nic&) = delete;

    void set_receiver(frame_receiver& next) { _receiver = &next; }

    // nic
    size_t send_burst(std::span<const tx_frame> frames) override;
    mac_address mac() const override { return _inner.mac(); }
    // frame_receiver
    void receive(packet_buffer frame, time_us now) override;

    // Sends or delivers a frame held longer than max_hold (call on every poll).
    void flush(time_us now);
    // Gives back held frames without sending or delivering them.
    void discard();

    const impairment_counters& counters() const { return _counters; }
    const impairment& config() const { return _config; }

private:
    void release_held_tx();

    nic& _inner;
    frame_receiver* _receiver = nullptr;
    impairment _config;
    fate_picker _tx_fate;
    fate_picker _rx_fate;
    impairment_counters _counters;
    time_us _now = 0;

    // A held transmit frame keeps a reference on each of its fragments' blocks.
    std::optional<tx_frame> _held_tx;
    time_us _held_tx_since = 0;
    packet_buffer _held_rx;
    bool _holding_rx = false;
    time_us _held_rx_since = 0;
    std::vector<tx_frame> _out;
};

} // namespace smbx::net
