#include "common/shm_ring.hh"

#include <new>

namespace smbx {

shm_ring shm_ring::format(void* memory, uint32_t slot_count, uint32_t slot_size) {
    auto* h = new (memory) shm_ring_header{};
    h->head.store(0, std::memory_order_relaxed);
    h->tail.store(0, std::memory_order_relaxed);
    h->slot_count = slot_count;
    h->slot_size = slot_size;
    return shm_ring(h, slot_count, slot_size);
}

shm_ring shm_ring::attach(void* memory, uint32_t slot_count, uint32_t slot_size) {
    return shm_ring(static_cast<shm_ring_header*>(memory), slot_count, slot_size);
}

uint8_t* shm_ring::slot(uint64_t index) const {
    auto* base = reinterpret_cast<uint8_t*>(_hdr) + sizeof(shm_ring_header);
    return base + (index & (_slot_count - 1)) * size_t(_slot_size);
}

bool shm_ring::push(byte_span message) {
    if (message.size() > max_message()) {
        return false;
    }
    uint64_t head = _hdr->head.load(std::memory_order_relaxed);
    uint64_t tail = _hdr->tail.load(std::memory_order_acquire);
    if (head - tail >= _slot_count) { // full, or a tail past head (corrupt)
        return false;
    }
    uint8_t* s = slot(head);
    uint32_t len = static_cast<uint32_t>(message.size());
    std::memcpy(s, &len, 4);
    std::memset(s + 4, 0, 4);
    if (!message.empty()) { // memcpy from a null pointer is undefined even for 0 bytes
        std::memcpy(s + slot_header, message.data(), message.size());
    }
    _hdr->head.store(head + 1, std::memory_order_release);
    return true;
}

std::optional<bytes> shm_ring::pop() {
    uint64_t tail = _hdr->tail.load(std::memory_order_relaxed);
    uint64_t head = _hdr->head.load(std::memory_order_acquire);
    if (tail == head) {
        return std::nullopt;
    }
    if (head - tail > _slot_count) {
        // Counters the producer could not have written honestly (nor a crash mid-push):
        // drop the claim rather than read up to 2^64 slots of whatever is there.
        _hdr->tail.store(head, std::memory_order_release);
        return std::nullopt;
    }
    const uint8_t* s = slot(tail);
    uint32_t len = 0;
    std::memcpy(&len, s, 4);
    // A corrupt length (the other side died mid-write) is clamped, never trusted.
    if (len > max_message()) {
        len = 0;
    }
    bytes out(s + slot_header, s + slot_header + len);
    _hdr->tail.store(tail + 1, std::memory_order_release);
    return out;
}

bool shm_ring::empty() const {
    return _hdr->tail.load(std::memory_order_acquire) == _hdr->head.load(std::memory_order_acquire);
}

} // namespace smbx
