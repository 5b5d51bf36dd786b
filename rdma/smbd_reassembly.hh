// Reassembly of an upper-layer message sent as a sequence of data transfer messages
// (MS-SMBD 3.1.5.8): each fragment says how many bytes of the message still follow it
// (RemainingDataLength); the message is complete when that reaches zero.
#pragma once

#include <cstdint>

#include "common/byte_codec.hh"

namespace smbx::rdma {

class fragment_reassembly {
public:
    enum class result {
        incomplete,   // more fragments to come
        complete,     // take() the message
        too_large,    // DataLength + RemainingDataLength above the negotiated maximum
        inconsistent, // RemainingDataLength does not continue the message in progress
    };

    explicit fragment_reassembly(uint32_t max_size) : _max_size(max_size) {}

    void set_max_size(uint32_t max_size) { _max_size = max_size; }
    // Appends one fragment's payload (non-empty).
    result add(byte_span payload, uint32_t remaining_data_length);
    bytes take();
    bool in_progress() const { return _in_progress; }
    void reset();

private:
    uint32_t _max_size;
    bytes _buffer;
    uint64_t _remaining = 0;
    bool _in_progress = false;
};

} // namespace smbx::rdma
