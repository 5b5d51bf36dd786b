// Congestion control of RFC 5681 (slow start, congestion avoidance, fast retransmit and
// fast recovery) with the NewReno modification of RFC 6582 for partial acknowledgments.
// Works in bytes. The connection reports events; it asks cwnd() what it may send and
// whether to retransmit.
#pragma once

#include <cstdint>

namespace smbx::net {

class newreno {
public:
    void init(uint32_t mss, uint32_t initial_window_segments);

    uint32_t cwnd() const { return _cwnd; }
    uint32_t ssthresh() const { return _ssthresh; }
    bool in_recovery() const { return _in_recovery; }

    // New data acknowledged: `acked` bytes, `ack` the new SND.UNA, `flight` the bytes
    // outstanding before this ACK. Returns true when a partial ACK during recovery asks
    // for the next unacknowledged segment to be retransmitted (RFC 6582 3.2 step 5).
    bool on_ack(uint32_t acked, uint32_t ack, uint32_t flight);
    // A duplicate ACK (RFC 5681 2). Returns true on the third: retransmit SND.UNA now.
    bool on_duplicate_ack(uint32_t snd_una, uint32_t snd_max, uint32_t flight);
    // The retransmission timer fired (RFC 5681 3.1 equation 4, then cwnd = 1 segment).
    void on_timeout(uint32_t flight, uint32_t snd_max);
    uint32_t duplicate_acks() const { return _dupacks; }

private:
    uint32_t _mss = 536;
    uint32_t _cwnd = 0;
    uint32_t _ssthresh = UINT32_MAX;
    uint32_t _dupacks = 0;
    uint32_t _recover = 0; // RFC 6582 "recover": highest sequence sent when loss was seen
    bool _recover_valid = false;
    bool _in_recovery = false;
    uint32_t _avoidance_bytes = 0; // bytes acked toward the next cwnd increase in CA
};

} // namespace smbx::net
