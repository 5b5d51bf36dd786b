#include "dataplane/net/rtt_estimator.hh"

#include <algorithm>

namespace smbx::net {

namespace {
// Clock granularity G: our clock is in microseconds, but timestamps tick in ms.
constexpr time_us granularity = 1000;
} // namespace

time_us rtt_estimator::clamp(time_us v) const {
    return std::clamp(v, _min, _max);
}

void rtt_estimator::sample(time_us rtt) {
    if (!_has_sample) {
        // RFC 6298 2.2: first measurement.
        _srtt = rtt;
        _rttvar = rtt / 2;
        _has_sample = true;
    } else {
        // 2.3 with alpha = 1/8, beta = 1/4.
        time_us delta = _srtt > rtt ? _srtt - rtt : rtt - _srtt;
        _rttvar = (3 * _rttvar + delta) / 4;
        _srtt = (7 * _srtt + rtt) / 8;
    }
    _rto = clamp(_srtt + std::max(granularity, 4 * _rttvar));
}

void rtt_estimator::back_off() {
    _rto = clamp(_rto * 2);
}

} // namespace smbx::net
