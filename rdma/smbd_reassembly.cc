#include "rdma/smbd_reassembly.hh"

#include <algorithm>
#include <utility>

namespace smbx::rdma {

fragment_reassembly::result fragment_reassembly::add(byte_span payload,
                                                     uint32_t remaining_data_length) {
    const uint64_t total = uint64_t(payload.size()) + remaining_data_length;
    // 3.1.5.8: DataLength + RemainingDataLength <= Connection.MaxFragmentedRecvSize, for
    // every fragment.
    if (total > _max_size) {
        return result::too_large;
    }
    if (_in_progress) {
        // Fragments of one message arrive in order and never interleave with another
        // message's (3.1.4.2), so each one continues exactly where the last one ended.
        if (total != _remaining) {
            return result::inconsistent;
        }
    } else {
        _in_progress = true;
        _buffer.clear();
        _buffer.reserve(total);
        _remaining = total;
    }
    size_t at = _buffer.size();
    _buffer.resize(at + payload.size());
    std::copy(payload.begin(), payload.end(), _buffer.begin() + at);
    _remaining -= payload.size();
    return _remaining == 0 ? result::complete : result::incomplete;
}

bytes fragment_reassembly::take() {
    _in_progress = false;
    _remaining = 0;
    return std::exchange(_buffer, {});
}

void fragment_reassembly::reset() {
    _in_progress = false;
    _remaining = 0;
    _buffer = {};
}

} // namespace smbx::rdma
