// Buffers that cross the stack without being copied.
//
// packet_buffer: a received frame, or a view into one (a TCP payload handed to the
// application). It owns the frame until destroyed; then its release hook returns the
// memory to wherever it came from (an mbuf to its mempool, a test vector to the heap).
//
// tx_block: application bytes queued for sending. The stack holds a reference until the
// peer acknowledges them; a NIC that keeps payload past send_burst() (DPDK external
// buffers) holds its own. The block is destroyed when the last reference goes, and the
// subclass's destructor is the application's completion: that is how a READ response
// keeps its pool buffer alive until acknowledged.
//
// tx_frame: one frame to send: the headers the stack wrote, then payload fragments that
// point into tx_blocks.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace smbx::net {

class packet_buffer {
public:
    using release_fn = void (*)(void* context);

    packet_buffer() = default;
    packet_buffer(uint8_t* data, size_t size, release_fn release, void* context)
        : _data(data), _size(size), _release(release), _context(context) {}
    packet_buffer(packet_buffer&& o) noexcept { *this = std::move(o); }
    packet_buffer& operator=(packet_buffer&& o) noexcept;
    packet_buffer(const packet_buffer&) = delete;
    packet_buffer& operator=(const packet_buffer&) = delete;
    ~packet_buffer() { reset(); }

    const uint8_t* data() const { return _data; }
    uint8_t* data() { return _data; }
    size_t size() const { return _size; }
    bool empty() const { return _size == 0; }
    std::span<const uint8_t> bytes() const { return {_data, _size}; }

    // Narrows the view to [offset, offset + length) of the current view.
    void narrow(size_t offset, size_t length);
    // Counts this buffer in *outstanding until it is released (the stack's
    // buffers-outstanding counter; the counter must outlive the buffer).
    void track(uint64_t* outstanding);
    // Releases the frame now.
    void reset();

private:
    uint8_t* _data = nullptr;
    size_t _size = 0;
    release_fn _release = nullptr;
    void* _context = nullptr;
    uint64_t* _outstanding = nullptr;
};

// A packet_buffer over a heap copy of `data` (tests, fuzzing, ICMP replies).
packet_buffer make_heap_packet(std::span<const uint8_t> data);

class tx_block {
public:
    tx_block(const uint8_t* data, size_t size) : _data(data), _size(size) {}
    virtual ~tx_block();
    tx_block(const tx_block&) = delete;
    tx_block& operator=(const tx_block&) = delete;

    const uint8_t* data() const { return _data; }
    size_t size() const { return _size; }

    void hold() { ++_refs; }
    void drop() {
        if (--_refs == 0) {
            delete this;
        }
    }
    void track(uint64_t* outstanding);

private:
    const uint8_t* _data;
    size_t _size;
    uint32_t _refs = 1;
    uint64_t* _outstanding = nullptr;
};

// Blocks for the common cases; each is returned holding one reference.
tx_block* make_tx_block(std::vector<uint8_t> data);
tx_block* make_tx_block(packet_buffer received);
// `data` stays valid until `on_done` runs (it is called exactly once).
tx_block* make_tx_block(const uint8_t* data, size_t size, std::function<void()> on_done);

struct tx_fragment {
    const uint8_t* data = nullptr;
    uint32_t size = 0;
    tx_block* block = nullptr; // the owner of data; a NIC that keeps data calls hold()
};

struct tx_frame {
    // Ethernet + IPv4 + TCP with 40 bytes of options is 94 bytes.
    static constexpr size_t max_header = 128;
    static constexpr size_t max_fragments = 8;

    std::array<uint8_t, max_header> header;
    uint16_t header_size = 0;
    uint8_t fragment_count = 0;
    std::array<tx_fragment, max_fragments> payload;

    size_t payload_size() const;
    size_t size() const { return header_size + payload_size(); }
    // Appends header and payload to `out` (NICs that copy; tests).
    void copy_to(std::vector<uint8_t>& out) const;
};

} // namespace smbx::net
