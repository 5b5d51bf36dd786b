#include "dataplane/net/newreno.hh"

#include <algorithm>

#include "dataplane/net/tcp_seq.hh"

namespace smbx::net {

void newreno::init(uint32_t mss, uint32_t initial_window_segments) {
    _mss = mss;
    // RFC 6928 2: IW = min(10 * MSS, max(2 * MSS, 14600)) for 10 segments; fewer on request.
    uint32_t iw = initial_window_segments * mss;
    if (initial_window_segments >= 10) {
        iw = std::min(10 * mss, std::max(2 * mss, 14600u));
    }
    _cwnd = std::max(iw, mss);
    _ssthresh = UINT32_MAX;
    _dupacks = 0;
    _in_recovery = false;
    _recover_valid = false;
}

bool newreno::on_ack(uint32_t acked, uint32_t ack, uint32_t flight) {
    _dupacks = 0;
    if (_in_recovery) {
        if (seq_gt(ack, _recover)) {
            // RFC 6582 3.2 step 5, full acknowledgment: deflate to ssthresh, bounded by
            // what is still in flight (option 1).
            uint32_t remaining = flight > acked ? flight - acked : 0;
            _cwnd = std::min(_ssthresh, std::max(remaining, _mss) + _mss);
            _in_recovery = false;
            return false;
        }
        // Partial acknowledgment: deflate by the amount acked, add back one segment if
        // at least one segment was acked, and retransmit the next hole.
        _cwnd = _cwnd > acked ? _cwnd - acked : _mss;
        if (acked >= _mss) {
            _cwnd += _mss;
        }
        return true;
    }
    if (_cwnd < _ssthresh) {
        // RFC 5681 3.1 equation 2, with byte counting limited to one SMSS per ACK.
        _cwnd += std::min(acked, _mss);
    } else {
        // Congestion avoidance: one SMSS per cwnd of data acknowledged (RFC 5681 3.1).
        _avoidance_bytes += acked;
        if (_avoidance_bytes >= _cwnd) {
            _avoidance_bytes -= _cwnd;
            _cwnd += _mss;
        }
    }
    return false;
}

bool newreno::on_duplicate_ack(uint32_t snd_una, uint32_t snd_max, uint32_t flight) {
    if (_in_recovery) {
        _cwnd += _mss; // RFC 5681 3.2 step 4: inflate for the segment that left the network
        return false;
    }
    if (++_dupacks != 3) {
        return false;
    }
    // RFC 6582 3.2 step 1: no new recovery for losses in the window already recovered.
    if (_recover_valid && !seq_gt(snd_una, _recover)) {
        return false;
    }
    _recover = snd_max;
    _recover_valid = true;
    _ssthresh = std::max(flight / 2, 2 * _mss); // RFC 5681 equation 4
    _cwnd = _ssthresh + 3 * _mss;
    _in_recovery = true;
    return true;
}

void newreno::on_timeout(uint32_t flight, uint32_t snd_max) {
    _ssthresh = std::max(flight / 2, 2 * _mss);
    _cwnd = _mss; // loss window
    _dupacks = 0;
    _in_recovery = false;
    _recover = snd_max; // RFC 6582 4: no fast retransmit for what the timeout resends
    _recover_valid = true;
    _avoidance_bytes = 0;
}

} // namespace smbx::net
