// Single-producer single-consumer message ring in shared memory. Fixed-size slots,
// no pointers: a slot holds a small header and the message bytes. Either side may die
// and come back: the ring is only head/tail counters and slot contents.
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
    // Attach to memory that format() initialised.
    static shm_ring attach(void* memory);

    size_t max_message() const { return _hdr->slot_size - slot_header; }

    // Producer side. False when the ring is full or the message is too large.
    bool push(byte_span message);
    // Consumer side. Empty when the ring is empty.
    std::optional<bytes> pop();
    bool empty() const;

private:
    shm_ring(shm_ring_header* h) : _hdr(h) {}
    uint8_t* slot(uint64_t index) const;

    shm_ring_header* _hdr = nullptr;
};

} // namespace smbx
