#include "dataplane/dpdk/direct_tcp_reassembler.hh"

#include <algorithm>
#include <cstring>

namespace smbx::dpdk {

namespace {

constexpr size_t bad_framing = direct_tcp::bad_frame;

// Where a large message starts in its pool buffer so that a WRITE's data (after the
// SMB2 header and WRITE request, MS-SMB2 2.2.21, and a TRANSFORM_HEADER, 2.2.41, when
// the first byte says the message is sealed) lands on a page boundary for O_DIRECT.
size_t write_alignment(size_t length, uint8_t first_byte) {
    if (length < 64 * 1024) {
        return 0;
    }
    constexpr size_t write_data_offset = 64 + 48;
    constexpr size_t transform_header_size = 52;
    return write_data_offset + (first_byte == 0xFD ? transform_header_size : 0);
}

} // namespace

// One received segment shared by the messages lent from it. The feed that made it
// holds a reference while it walks the segment (the engine may drop a message before
// the next one is cut); each lent pool_buffer holds one. The last give_back, on any
// thread, frees the segment: for an mbuf, rte_pktmbuf_free, which is safe there
// because our threads are unregistered non-EAL threads, which have no per-lcore
// mempool cache and put straight into the pool's multi-producer ring (rte_mempool.h).
class rx_segment_share final : public buffer_lender {
public:
    explicit rx_segment_share(net::packet_buffer&& segment) : _segment(std::move(segment)) {
        direct_tcp_reassembler::_segments_lent.fetch_add(1, std::memory_order_relaxed);
    }

    pool_buffer lend(uint8_t* data, size_t size) {
        _refs.fetch_add(1, std::memory_order_relaxed);
        // Not in the pool's region: the engine's fixed-buffer file I/O does not apply.
        return pool_buffer::lent(data, size, false, *this, 0);
    }

    void give_back(uint32_t) noexcept override {
        if (_refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }

private:
    ~rx_segment_share() {
        _segment.reset();
        direct_tcp_reassembler::_segments_lent.fetch_sub(1, std::memory_order_relaxed);
    }

    net::packet_buffer _segment;
    std::atomic<uint32_t> _refs{1};
};

size_t direct_tcp_reassembler::copy_step(const uint8_t* p, size_t n, const deliver_fn& deliver) {
    if (_header_filled < sizeof _header) {
        size_t k = std::min(sizeof _header - _header_filled, n);
        std::memcpy(_header + _header_filled, p, k);
        _header_filled += k;
        if (_header_filled == sizeof _header) {
            _length = direct_tcp::message_length(_header, _max_message);
            if (_length == bad_framing) {
                return bad_framing;
            }
            _allocated = false;
            _filled = 0;
        }
        return k;
    }
    if (!_allocated) {
        // Allocated with the first body byte in hand, to see whether it is sealed.
        _message = pool_get(_length, write_alignment(_length, p[0]));
        _allocated = true;
    }
    size_t k = std::min(_length - _filled, n);
    std::memcpy(_message.data() + _filled, p, k);
    _filled += k;
    if (_filled == _length) {
        _header_filled = 0;
        _allocated = false;
        _filled = 0;
        ++_messages_assembled;
        deliver(std::move(_message));
        _message = pool_buffer();
    }
    return k;
}

bool direct_tcp_reassembler::feed(std::span<const uint8_t> data, const deliver_fn& deliver) {
    for (size_t pos = 0; pos < data.size();) {
        size_t n = copy_step(data.data() + pos, data.size() - pos, deliver);
        if (n == bad_framing) {
            return false;
        }
        pos += n;
    }
    return true;
}

bool direct_tcp_reassembler::feed(net::packet_buffer segment, bool may_lend,
                                  const deliver_fn& deliver) {
    uint8_t* data = segment.data(); // stays valid when the segment moves into a share
    const size_t size = segment.size();
    rx_segment_share* share = nullptr;
    bool ok = true;
    for (size_t pos = 0; pos < size;) {
        // At a message boundary with the whole message in this segment: lend it.
        if (may_lend && _header_filled == 0 && size - pos >= sizeof _header) {
            size_t length = direct_tcp::message_length(data + pos, _max_message);
            if (length == bad_framing) {
                ok = false;
                break;
            }
            if (length <= size - pos - sizeof _header) {
                if (!share) {
                    // Released on whichever thread drops the last message: leave the
                    // stack's (worker-only) buffers-outstanding counter now.
                    segment.track(nullptr);
                    share = new rx_segment_share(std::move(segment));
                }
                ++_messages_lent;
                deliver(share->lend(data + pos + sizeof _header, length));
                pos += sizeof _header + length;
                continue;
            }
        }
        size_t n = copy_step(data + pos, size - pos, deliver);
        if (n == bad_framing) {
            ok = false;
            break;
        }
        pos += n;
    }
    if (share) {
        share->give_back(0); // the feed's own reference
    }
    return ok;
}

} // namespace smbx::dpdk
