#include "bench/smbx_bench/smbd_client_transport.hh"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>

#include "bench/smbx_bench/smb2_client.hh"

namespace smbx::bench {

namespace {

using rdma::smbd_clock;

void set_nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Polls of the completion queue before sleeping on its channel: a reply usually comes
// within microseconds, and a wake-up costs more than that.
constexpr int spin_polls = 200;

} // namespace

smbd_client_transport::smbd_client_transport(const std::string& host, uint16_t port,
                                             const smbd_client_settings& settings)
    : _peer(host + ":" + std::to_string(port)), _settings(settings) {
    try {
        connect(host, port);
    } catch (...) {
        release(); // no destructor runs for a constructor that throws
        throw;
    }
}

void smbd_client_transport::connect(const std::string& host, uint16_t port) {
    const smbd_client_settings& settings = _settings;
    const auto give_up = smbd_clock::now() + std::chrono::milliseconds(settings.connect_timeout_ms);
    auto fail = [&](const std::string& what) -> smb_error {
        return smb_error("SMB Direct to " + _peer + ": " + what);
    };
    _cm_channel = rdma_create_event_channel();
    if (!_cm_channel) {
        throw fail(std::string("rdma_create_event_channel: ") + strerror(errno) +
                   " (no RDMA device or rdma_cm?)");
    }
    set_nonblocking(_cm_channel->fd);
    if (rdma_create_id(_cm_channel, &_id, nullptr, RDMA_PS_TCP) != 0) {
        throw fail(std::string("rdma_create_id: ") + strerror(errno));
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    if (int rc = getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
        throw fail(std::string("cannot resolve: ") + gai_strerror(rc));
    }
    int rc = rdma_resolve_addr(_id, nullptr, res->ai_addr, settings.connect_timeout_ms);
    freeaddrinfo(res);
    if (rc != 0) {
        throw fail(std::string("rdma_resolve_addr: ") + strerror(errno));
    }
    if (auto ev = next_cm_event(settings.connect_timeout_ms); ev != RDMA_CM_EVENT_ADDR_RESOLVED) {
        throw fail(std::string("address not resolved to an RDMA device: ") + rdma_event_str(ev));
    }
    if (rdma_resolve_route(_id, settings.connect_timeout_ms) != 0) {
        throw fail(std::string("rdma_resolve_route: ") + strerror(errno));
    }
    if (auto ev = next_cm_event(settings.connect_timeout_ms); ev != RDMA_CM_EVENT_ROUTE_RESOLVED) {
        throw fail(std::string("no route: ") + rdma_event_str(ev));
    }

    // The I/O buffers: one registration for the connection's life, with remote access
    // so that the server can RDMA READ and WRITE them (MS-SMBD 3.1.4.4 registers buffers
    // for the upper layer; Windows keeps them registered).
    _area_size = (size_t(settings.slots) * settings.slot_size + 4095) & ~size_t(4095);
    _area = static_cast<uint8_t*>(std::aligned_alloc(4096, _area_size));
    if (!_area) {
        throw fail("cannot allocate the I/O buffers");
    }
    std::memset(_area, 0, _area_size);
    _device = rdma::open_device_memory(_id->verbs, _area, _area_size,
                                       IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_READ |
                                           IBV_ACCESS_REMOTE_WRITE |
                                           (settings.invalidate ? IBV_ACCESS_MW_BIND : 0));
    if (!_device) {
        throw fail("cannot register the I/O buffers with " +
                   std::string(ibv_get_device_name(_id->verbs->device)));
    }
    for (uint32_t i = settings.slots; i-- > 0;) {
        _free_slots.push_back(i);
    }
    if (settings.invalidate) {
        if (!(_device->attr.device_cap_flags &
              (IBV_DEVICE_MEM_WINDOW_TYPE_2A | IBV_DEVICE_MEM_WINDOW_TYPE_2B))) {
            throw fail("--rdma-channel v1-invalidate: the device has no type 2 memory windows");
        }
        _windows.resize(settings.slots);
        for (auto& w : _windows) {
            w.mw = ibv_alloc_mw(_device->pd, IBV_MW_TYPE_2);
            if (!w.mw) {
                throw fail(std::string("ibv_alloc_mw: ") + strerror(errno));
            }
        }
    }
    rdma::queue_pair_limits limits;
    limits.receive_slots = settings.connection.receive_credit_max + 8u;
    limits.receive_size = settings.connection.max_receive_size;
    limits.send_size = settings.connection.max_send_size;
    // The client posts no RDMA READ/WRITE; the room is for window binds and local
    // invalidations (two per buffer at most, unsignaled).
    limits.rdma_slots = 2 * settings.slots + 1;
    _qp = rdma::verbs_queue_pair::create(_id, *_device, limits);
    if (!_qp) {
        throw fail("cannot create the queue pair");
    }
    _qp->on_remote_invalidate = [this](uint32_t rkey) {
        for (auto& w : _windows) {
            if (w.bound && w.mw->rkey == rkey) {
                w.bound = false;
            }
        }
    };
    rdma::smbd_connection_events& events = *this;
    _engine = std::make_unique<rdma::smbd_connection>(*_qp, events, settings.connection, _peer);

    rdma_conn_param p{};
    // The server RDMA-READs WRITE data from us: our responder resources bound how many
    // of its READs may be outstanding. We issue none.
    p.responder_resources = uint8_t(std::min(_device->attr.max_qp_rd_atom, 32));
    p.initiator_depth = 0;
    p.retry_count = 6;
    p.rnr_retry_count = 6;
    if (rdma_connect(_id, &p) != 0) {
        throw fail(std::string("rdma_connect: ") + strerror(errno));
    }
    if (auto ev = next_cm_event(settings.connect_timeout_ms); ev != RDMA_CM_EVENT_ESTABLISHED) {
        throw fail(std::string("connection not established: ") + rdma_event_str(ev) +
                   " (no SMB Direct listener on that port?)");
    }
    if (!_engine->start_requester(smbd_clock::now())) {
        throw fail("could not send the SMB Direct negotiate request");
    }
    while (!_established && !_closed) {
        if (smbd_clock::now() > give_up) {
            throw fail("no SMB Direct negotiate response");
        }
        if (progress() == 0) {
            wait(100);
        }
    }
    if (!_established) {
        throw fail("SMB Direct negotiate failed (see the log line above)");
    }
}

smbd_client_transport::~smbd_client_transport() {
    release();
}

void smbd_client_transport::release() {
    if (_engine && !_closed) {
        // 3.1.4.3: disconnect, then wait (bounded) for the flushed work requests so that
        // nothing still points into the buffers freed below.
        _engine->close("client done");
        const auto until = smbd_clock::now() + std::chrono::seconds(2);
        while (!_closed && smbd_clock::now() < until) {
            if (progress() == 0) {
                wait(50);
            }
        }
    }
    _engine.reset();
    _qp.reset(); // the QP, its CQ and its send/receive buffers
    for (auto& w : _windows) {
        if (w.mw) {
            ibv_dealloc_mw(w.mw);
        }
    }
    _device.reset(); // the I/O buffers' registration and the protection domain
    _windows.clear();
    if (_id) {
        rdma_destroy_id(_id);
        _id = nullptr;
    }
    if (_cm_channel) {
        rdma_destroy_event_channel(_cm_channel);
        _cm_channel = nullptr;
    }
    std::free(_area);
    _area = nullptr;
}

rdma_cm_event_type smbd_client_transport::next_cm_event(int timeout_ms) {
    pollfd pfd{_cm_channel->fd, POLLIN, 0};
    rdma_cm_event* ev = nullptr;
    const auto until = smbd_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (rdma_get_cm_event(_cm_channel, &ev) != 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            throw smb_error(std::string("rdma_get_cm_event: ") + strerror(errno));
        }
        if (smbd_clock::now() >= until) {
            throw smb_error("SMB Direct to " + _peer + ": timed out waiting for RDMA CM");
        }
        ::poll(&pfd, 1, 100);
    }
    rdma_cm_event_type type = ev->event;
    if (type == RDMA_CM_EVENT_REJECTED) {
        _close_reason = "rejected by the server";
    }
    rdma_ack_cm_event(ev);
    return type;
}

int smbd_client_transport::progress() {
    int work = _qp->poll(*_engine);
    rdma_cm_event* ev = nullptr;
    while (rdma_get_cm_event(_cm_channel, &ev) == 0) {
        ++work;
        switch (ev->event) {
        case RDMA_CM_EVENT_DISCONNECTED:
        case RDMA_CM_EVENT_DEVICE_REMOVAL:
        case RDMA_CM_EVENT_CONNECT_ERROR:
        case RDMA_CM_EVENT_UNREACHABLE:
            if (_close_reason.empty()) {
                _close_reason =
                    std::string("the server disconnected (") + rdma_event_str(ev->event) + ")";
            }
            if (!_closed) {
                _engine->on_peer_disconnected();
            }
            break;
        default:
            break;
        }
        rdma_ack_cm_event(ev);
    }
    if (!_closed) {
        work += _engine->poll(smbd_clock::now());
    }
    return work;
}

void smbd_client_transport::wait(int timeout_ms) {
    // Arm, then look once more: a completion between the last poll and the arm would
    // not wake us.
    _qp->arm();
    if (progress() > 0) {
        return;
    }
    pollfd fds[2] = {{_qp->channel_fd(), POLLIN, 0}, {_cm_channel->fd, POLLIN, 0}};
    ::poll(fds, 2, timeout_ms);
    _qp->drain_notifications();
}

void smbd_client_transport::throw_if_closed() const {
    if (_closed || !_engine ||
        _engine->current_state() != rdma::smbd_connection::state::established) {
        throw smb_error("SMB Direct connection closed" +
                        (_close_reason.empty() ? std::string() : ": " + _close_reason));
    }
}

void smbd_client_transport::send(byte_span message) {
    throw_if_closed();
    auto r = _engine->send_message(bytes(message.begin(), message.end()));
    if (r == rdma::smbd_connection::send_result::too_large) {
        throw smb_error("a " + std::to_string(message.size()) +
                        "-byte request exceeds the server's SMB Direct MaxFragmentedSize (" +
                        std::to_string(negotiated().max_fragmented_send_size) + ")");
    }
    if (r != rdma::smbd_connection::send_result::queued) {
        throw_if_closed();
        throw smb_error("SMB Direct: the request could not be queued");
    }
    progress();
}

bytes smbd_client_transport::receive() {
    for (int idle = 0;;) {
        if (!_messages.empty()) {
            bytes m = std::move(_messages.front());
            _messages.pop_front();
            return m;
        }
        throw_if_closed();
        if (progress() > 0) {
            idle = 0;
        } else if (++idle > spin_polls) {
            wait(1000); // at least once a second: the engine's keepalive timers
            idle = 0;
        }
    }
}

bool smbd_client_transport::ready() {
    progress();
    if (_messages.empty() && !_closed) {
        _qp->drain_notifications(); // else the channel fd stays readable
        _qp->arm();                 // the completion channel fd then polls readable on the next one
        progress();
    }
    return !_messages.empty() || _closed;
}

int smbd_client_transport::wait_fd() const {
    return _qp->channel_fd();
}

std::optional<rdma_buffer> smbd_client_transport::lend(size_t n) {
    if (_free_slots.empty() || n > _settings.slot_size || n == 0) {
        return std::nullopt;
    }
    uint32_t slot = _free_slots.back();
    _free_slots.pop_back();
    rdma_buffer b;
    b.slot = slot;
    b.memory = std::span<uint8_t>(_area + size_t(slot) * _settings.slot_size, n);
    b.descriptor.offset = uint64_t(reinterpret_cast<uintptr_t>(b.memory.data()));
    b.descriptor.token = _device->pool_mr->rkey;
    b.descriptor.length = uint32_t(n);
    if (!_windows.empty()) {
        bind_window(slot, b.memory);
        b.descriptor.token = _windows[slot].mw->rkey;
        b.invalidate = true;
    }
    return b;
}

void smbd_client_transport::bind_window(uint32_t slot, std::span<uint8_t> memory) {
    // Posted ahead of the request's SEND on the same send queue, so the window is bound
    // before the server can see its token. Unsignaled: a failure puts the queue pair in
    // error and the connection down.
    window& w = _windows[slot];
    ibv_send_wr wr[2]{};
    int n = 0;
    if (w.bound) { // the server did not invalidate it (e.g. a failed request)
        wr[n].opcode = IBV_WR_LOCAL_INV;
        wr[n].invalidate_rkey = w.mw->rkey;
        ++n;
    }
    const uint32_t rkey = ibv_inc_rkey(w.mw->rkey);
    wr[n].opcode = IBV_WR_BIND_MW;
    wr[n].bind_mw.mw = w.mw;
    wr[n].bind_mw.rkey = rkey;
    wr[n].bind_mw.bind_info.mr = _device->pool_mr;
    wr[n].bind_mw.bind_info.addr = uint64_t(reinterpret_cast<uintptr_t>(memory.data()));
    wr[n].bind_mw.bind_info.length = memory.size();
    wr[n].bind_mw.bind_info.mw_access_flags = IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_WRITE;
    ++n;
    if (n == 2) {
        wr[0].next = &wr[1];
    }
    ibv_send_wr* bad = nullptr;
    if (int rc = ibv_post_send(_qp->id()->qp, wr, &bad); rc != 0) {
        throw smb_error(std::string("binding a memory window: ibv_post_send: ") + strerror(rc));
    }
    w.mw->rkey = rkey; // type 2: the new key is ours to track
    w.bound = true;
}

void smbd_client_transport::give_back(uint32_t slot) {
    _free_slots.push_back(slot);
}

uint32_t smbd_client_transport::max_read_write_size() const {
    return _engine->negotiated().max_read_write_size;
}

} // namespace smbx::bench
