// The receive side of the TCP transport. Each connection has one receive in flight
// at a time: a one-shot IORING_OP_RECV with IOSQE_BUFFER_SELECT on the worker's
// provided-buffer ring, so the kernel picks the buffer and names it in the completion,
// and no connection owns receive memory while it is idle. Direct TCP framing (MS-SMB2
// 2.1: a zero byte, then a 24-bit big-endian length) is cut out of those buffers by the
// framer the DPDK backend shares (runtime/direct_tcp_framer.hh):
// - a message that lies in one buffer goes to the engine in that buffer (lent, no copy);
// - one that spans buffers is assembled into a pool buffer;
// - a large one (>= large_message: a WRITE body, mostly) gets its own pool buffer placed
//   so that the WRITE data is page aligned, and its remaining bytes are received
//   straight into it with a plain receive (the framer's direct_target). At most one
//   ring buffer of it was copied.
// The next receive is armed once the previous one's bytes are framed, so requests that
// arrived meanwhile come in one completion. A multishot receive was measured against
// this and lost: it completes once per arriving segment (381k completions for 450k
// 4 KiB READs at QD 32, with a wakeup each), 149-163k IOPS against 174-187k here.
// Buffers go back to the ring as soon as the framing is done with them (or, when lent,
// once the engine drops the message). A receive that finds the ring empty (ENOBUFS) is
// armed again once buffers have come back.
#include <cerrno>
#include <cstring>

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/tcp/tcp_transport.hh"

namespace smbx {

namespace {

// A message is lent in its ring buffer only while a quarter of the ring is still free:
// lent buffers come back only when the engine is done with them, and a ring the engine
// holds would leave every connection of the worker waiting. Below that, copy.
unsigned lend_floor(const provided_buffer_ring& r) {
    return std::max(1u, r.entries() / 4);
}

} // namespace

void tcp_transport::arm_ring_receive(tcp_connection& c) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv(s, c._fd, nullptr, 0, 0); // the length is the buffer's
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = _recv_ring->group();
    io_uring_sqe_set_data64(s, tag(op::recv_ring, c._id));
    c._ring_armed = true;
    ++c._ops_in_flight;
}

void tcp_transport::arm_direct(tcp_connection& c, std::span<uint8_t> into) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv(s, c._fd, into.data(), into.size(), 0);
    io_uring_sqe_set_data64(s, tag(op::recv_direct, c._id));
    c._direct_armed = true;
    ++c._ops_in_flight;
}

// A receive completed: what receives next.
void tcp_transport::continue_receiving(tcp_connection& c) {
    if (c._closing || c._ring_armed || c._direct_armed) {
        return;
    }
    if (std::span<uint8_t> rest = c._framer.direct_target(); !rest.empty()) {
        arm_direct(c, rest);
        return;
    }
    arm_ring_receive(c);
}

void tcp_transport::on_recv_ring(tcp_connection& c, int res, uint32_t flags) {
    c._ring_armed = false;
    if (flags & IORING_CQE_F_BUFFER) {
        auto id = uint16_t(flags >> IORING_CQE_BUFFER_SHIFT);
        _recv_ring->take(id);
        if (res > 0 && !c._closing) {
            auto& d = counters::data();
            counters::add(d.tcp_recv_provided_buffers, 1);
            counters::add(d.tcp_recv_provided_bytes, uint64_t(res));
            if (!frame(c, id, size_t(res))) {
                begin_close(c);
            }
        }
        _recv_ring->release(id);
    }
    if (c._closing) {
        return;
    }
    if (res == 0) {
        begin_close(c); // the peer closed, possibly in the middle of a message
        return;
    }
    if (res == -ENOBUFS) {
        // The ring is empty: armed again when buffers come back (after_completions).
        counters::add(counters::data().tcp_recv_no_buffers, 1);
        c._waiting_for_buffers = true;
        _waiting_for_buffers.push_back(c._id);
        _recv_ring->set_waiting(true);
        return;
    }
    if (res < 0) {
        if (res != -ECONNRESET) {
            LOG_DEBUG("%s: recv: %s", c._peer.c_str(), strerror(-res));
        }
        begin_close(c);
        return;
    }
    continue_receiving(c);
}

void tcp_transport::on_recv_direct(tcp_connection& c, int res) {
    c._direct_armed = false;
    if (c._closing) {
        return;
    }
    if (res <= 0) {
        if (res < 0 && res != -ECONNRESET) {
            LOG_DEBUG("%s: recv: %s", c._peer.c_str(), strerror(-res));
        }
        begin_close(c);
        return;
    }
    auto before = c._framer.stats();
    c._framer.received(size_t(res), [this, &c](pool_buffer m) {
        _events.on_message(c.shared_from_this(), std::move(m));
    });
    count_framed(c, before);
    continue_receiving(c);
}

// Adds what the framer did since `before` to the data-path counters.
void tcp_transport::count_framed(tcp_connection& c, const direct_tcp_framer::totals& before) {
    const auto& now = c._framer.stats();
    auto& d = counters::data();
    if (uint64_t n = now.messages_lent - before.messages_lent) {
        counters::add(d.tcp_recv_lent_messages, n);
    }
    if (uint64_t n = now.bytes_assembled - before.bytes_assembled) {
        counters::add(d.tcp_recv_assembled_bytes, n);
    }
    if (uint64_t n = now.bytes_direct - before.bytes_direct) {
        counters::add(d.tcp_recv_direct_bytes, n);
    }
}

// Frames the `length` bytes the kernel put in ring buffer `buffer_id`. False when the
// peer broke the framing or announced a message over the connection's limit (the
// connection is then closed).
bool tcp_transport::frame(tcp_connection& c, uint16_t buffer_id, size_t length) {
    auto before = c._framer.stats();
    c._framer.set_max_message(c.max_incoming.load(std::memory_order_relaxed));
    auto lend = [this, buffer_id](size_t offset, size_t size) {
        if (_recv_ring->available() < lend_floor(*_recv_ring)) {
            return pool_buffer(); // copied instead
        }
        return _recv_ring->lend(buffer_id, offset, size);
    };
    auto deliver = [this, &c](pool_buffer m) {
        if (!c._closing) { // the engine may have closed it on an earlier message
            _events.on_message(c.shared_from_this(), std::move(m));
        }
    };
    auto result = c._framer.feed({_recv_ring->buffer(buffer_id), length}, lend, deliver);
    count_framed(c, before);
    if (result != direct_tcp_framer::status::ok) {
        LOG_WARN("%s: %s; closing", c._peer.c_str(), c._framer.describe_refusal().c_str());
        return false;
    }
    return true;
}

// After a batch of completions: puts buffers other threads gave back on the ring, and
// arms the receives that waited for buffers.
unsigned tcp_transport::after_completions() {
    unsigned work = _recv_ring->reclaim();
    if (!_waiting_for_buffers.empty() && _recv_ring->available() > 0) {
        _recv_ring->set_waiting(false);
        auto waiting = std::exchange(_waiting_for_buffers, {});
        for (uint64_t id : waiting) {
            auto it = _connections.find(id);
            if (it != _connections.end() && it->second->_waiting_for_buffers) {
                it->second->_waiting_for_buffers = false;
                continue_receiving(*it->second);
                ++work;
            }
        }
    }
    return work;
}

} // namespace smbx
