#include "dataplane/dpdk/direct_tcp_reassembler.hh"

namespace smbx::dpdk {

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

bool direct_tcp_reassembler::feed(net::packet_buffer segment, bool may_lend,
                                  const deliver_fn& deliver) {
    // What the lend hook needs, behind one pointer so the hook fits std::function's
    // inline storage (no allocation per segment).
    struct lending {
        net::packet_buffer& segment;
        uint8_t* data; // stays valid when the segment moves into a share
        rx_segment_share* share = nullptr;
    } l{segment, segment.data()};
    const size_t size = segment.size();
    direct_tcp_framer::lend_fn lend;
    if (may_lend) {
        lend = [&l](size_t offset, size_t length) {
            if (!l.share) {
                // Released on whichever thread drops the last message: leave the
                // stack's (worker-only) buffers-outstanding counter now.
                l.segment.track(nullptr);
                l.share = new rx_segment_share(std::move(l.segment));
            }
            return l.share->lend(l.data + offset, length);
        };
    }
    auto result = _framer.feed({l.data, size}, lend, deliver);
    if (l.share) {
        l.share->give_back(0); // the feed's own reference
    }
    return result == direct_tcp_framer::status::ok;
}

} // namespace smbx::dpdk
