// Single-producer single-consumer message ring in shared memory. Fixed-size slots,
// no pointers: a slot holds a small header and the message bytes. Either side may die
// and come back: the ring is only head/tail counters and slot contents.
// Neither side trusts what the other can write: the geometry each uses is its own copy
// (the header's is only a record of it), and counters that claim more than the ring
// holds are dropped, so a compromised data plane cannot make smbx-control read or write
// outside the ring, nor spin on it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/byte_codec.hh"

namespace smbx {

struct alignas(64) shm_ring_header {
    std::atomic<uint64_t> head; // next slot the producer writes
    char _pad0[56];
    std::atomic<uint64_t> tail; // next slot the consumer reads
    char _pad1[56];
    uint32_t slot_count; // power of two
    uint32_t slot_size;  // bytes per slot, header included
    char _pad2[56];
};

// A view over a ring that lives in memory someone else mapped.
class shm_ring {
public:
    static constexpr size_t slot_header = 8; // u32 length, u32 reserved

    static size_t bytes_needed(uint32_t slot_count, uint32_t slot_size) {
        return sizeof(shm_ring_header) + size_t(slot_count) * slot_size;
    }
    // Initialise fresh memory (the creator does this once).
    static shm_ring format(void* memory, uint32_t slot_count, uint32_t slot_size);
    // Attach to memory that format() initialised with this geometry.
    static shm_ring attach(void* memory, uint32_t slot_count, uint32_t slot_size);

    size_t max_message() const { return _slot_size - slot_header; }

    // Producer side. False when the ring is full or the message is too large.
    bool push(byte_span message);
    // Consumer side. Empty when the ring is empty, or when the counters say more is
    // queued than the ring holds: then what they claim is dropped.
    std::optional<bytes> pop();
    bool empty() const;

private:
    shm_ring(shm_ring_header* h, uint32_t slot_count, uint32_t slot_size)
        : _hdr(h), _slot_count(slot_count), _slot_size(slot_size) {}
    uint8_t* slot(uint64_t index) const;

    shm_ring_header* _hdr = nullptr;
    uint32_t _slot_count = 0; // power of two
    uint32_t _slot_size = 0;  // bytes per slot, header included
};

} // namespace smbx
