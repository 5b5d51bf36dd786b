// The receive side of the TCP transport. Each connection has one receive in flight
// at a time: a one-shot IORING_OP_RECV with IOSQE_BUFFER_SELECT on the worker's
// provided-buffer ring, so the kernel picks the buffer and names it in the completion,
// and no connection owns receive memory while it is idle. Direct TCP framing (MS-SMB2
// 2.1: a zero byte, then a 24-bit big-endian length) is cut out of those buffers:
// - a message that lies in one buffer goes to the engine in that buffer (lent, no copy);
// - one that spans buffers is assembled into a pool buffer;
// - a large one (>= large_message: a WRITE body, mostly) gets its own pool buffer placed
//   so that the WRITE data is page aligned, and its remaining bytes are received
//   straight into it with a plain receive. At most one ring buffer of it was copied.
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

void tcp_transport::arm_direct(tcp_connection& c) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv(s, c._fd, c._message.data() + c._message_filled,
                       c._message.size() - c._message_filled, 0);
    io_uring_sqe_set_data64(s, tag(op::recv_direct, c._id));
    c._direct_armed = true;
    ++c._ops_in_flight;
}

// A receive completed: what receives next.
void tcp_transport::continue_receiving(tcp_connection& c) {
    if (c._closing || c._ring_armed || c._direct_armed) {
        return;
    }
    if (c._in_message && c._message.size() >= large_message) {
        arm_direct(c);
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
    counters::add(counters::data().tcp_recv_direct_bytes, uint64_t(res));
    c._message_filled += size_t(res);
    if (c._message_filled == c._message.size()) {
        deliver(c);
    }
    continue_receiving(c);
}

// Hands the assembled message to the engine.
void tcp_transport::deliver(tcp_connection& c) {
    c._in_message = false;
    _events.on_message(c.shared_from_this(), std::move(c._message));
    c._message = pool_buffer();
}

// Frames the `length` bytes the kernel put in ring buffer `buffer_id`. False when the
// peer broke the framing (the connection is then closed).
bool tcp_transport::frame(tcp_connection& c, uint16_t buffer_id, size_t length) {
    const uint8_t* in = _recv_ring->buffer(buffer_id);
    auto& d = counters::data();
    size_t pos = 0;
    while (pos < length && !c._closing) {
        if (c._in_message) {
            size_t n = std::min(c._message.size() - c._message_filled, length - pos);
            std::memcpy(c._message.data() + c._message_filled, in + pos, n);
            counters::add(d.tcp_recv_assembled_bytes, n);
            c._message_filled += n;
            pos += n;
            if (c._message_filled == c._message.size()) {
                deliver(c);
            }
            continue;
        }
        // The 4-byte header may itself be split across buffers.
        size_t n = std::min(sizeof c._frame_header - c._header_filled, length - pos);
        std::memcpy(c._frame_header + c._header_filled, in + pos, n);
        c._header_filled += n;
        pos += n;
        if (c._header_filled < sizeof c._frame_header) {
            break;
        }
        c._header_filled = 0;
        const uint8_t* h = c._frame_header;
        size_t len = direct_tcp::message_length(h, max_message_size);
        if (len == direct_tcp::bad_frame) {
            LOG_WARN("%s: bad Direct TCP frame header %02x %02x %02x %02x; closing",
                     c._peer.c_str(), h[0], h[1], h[2], h[3]);
            return false;
        }
        if (len > c.max_incoming.load(std::memory_order_relaxed)) {
            LOG_WARN("%s: a %zu-byte message before any session; closing", c._peer.c_str(), len);
            return false;
        }
        size_t here = length - pos;
        if (len < large_message && here >= len &&
            _recv_ring->available() >= lend_floor(*_recv_ring)) {
            counters::add(d.tcp_recv_lent_messages, 1);
            _events.on_message(c.shared_from_this(), _recv_ring->lend(buffer_id, pos, len));
            pos += len;
            continue;
        }
        // A large message is most likely a WRITE: place it so that its data, after the
        // SMB2 header and WRITE request (and the TRANSFORM_HEADER, if it has one), starts
        // on a page boundary, as O_DIRECT wants it (runtime/buffer_pool.hh).
        size_t aligned_at = 0;
        if (len >= large_message) {
            constexpr size_t write_data_offset = 64 + 48; // MS-SMB2 2.2.21
            bool sealed = here >= 1 && in[pos] == 0xFD;   // TRANSFORM_HEADER, 2.2.41
            aligned_at = write_data_offset + (sealed ? 52 : 0);
        }
        c._message = pool_get(len, aligned_at);
        c._message_filled = 0;
        c._in_message = true;
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
