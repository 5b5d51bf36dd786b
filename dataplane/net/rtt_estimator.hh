// The retransmission timeout of RFC 6298: SRTT and RTTVAR from RTT samples (2.2, 2.3),
// RTO = SRTT + max(G, 4 * RTTVAR) clamped to [min_rto, max_rto] (2.4, 2.5), doubled on
// each timeout (5.5) until a new sample arrives.
#pragma once

#include "dataplane/net/net_types.hh"

namespace smbx::net {

class rtt_estimator {
public:
    rtt_estimator(time_us initial_rto, time_us min_rto, time_us max_rto)
        : _rto(initial_rto), _min(min_rto), _max(max_rto) {}

    void sample(time_us rtt);
    void back_off();
    time_us rto() const { return _rto; }
    time_us srtt() const { return _srtt; }
    bool has_sample() const { return _has_sample; }

private:
    time_us clamp(time_us v) const;

    time_us _srtt = 0;
    time_us _rttvar = 0;
    time_us _rto;
    time_us _min;
    time_us _max;
    bool _has_sample = false;
};

} // namespace smbx::net
