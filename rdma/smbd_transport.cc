#include "rdma/smbd_transport.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "common/log.hh"
#include "dataplane/runtime/worker.hh"

namespace smbx::rdma {

namespace {

std::string address_of(sockaddr* sa) {
    char buf[INET6_ADDRSTRLEN] = "?";
    if (sa && sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
    } else if (sa && sa->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
    }
    return buf;
}

} // namespace

smbd_transport::smbd_transport(smbd_transport_settings settings, transport_events& events,
                               worker* owner)
    : _settings(std::move(settings)), _events(events), _worker(owner) {
    _epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    // Timers (keepalive, negotiation) need a tick even when no completion arrives.
    _timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    itimerspec every_second{{1, 0}, {1, 0}};
    timerfd_settime(_timer_fd, 0, &every_second, nullptr);
    watch(_timer_fd, true);
}

smbd_transport::~smbd_transport() {
    for (auto& [id, c] : _connections) {
        c->_engine.reset();
        c->_qp.reset();
        rdma_destroy_id(id);
    }
    _connections.clear();
    for (auto* id : _listeners) {
        rdma_destroy_id(id);
    }
    _devices.clear();
    if (_channel) {
        rdma_destroy_event_channel(_channel);
    }
    if (_timer_fd >= 0) {
        ::close(_timer_fd);
    }
    if (_epoll_fd >= 0) {
        ::close(_epoll_fd);
    }
}

void smbd_transport::watch(int fd, bool add) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(_epoll_fd, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev);
}

bool smbd_transport::open_channel() {
    if (_channel) {
        return true;
    }
    _channel = rdma_create_event_channel();
    if (!_channel) {
        LOG_ERROR("rdma: rdma_create_event_channel: %s", strerror(errno));
        return false;
    }
    fcntl(_channel->fd, F_SETFL, fcntl(_channel->fd, F_GETFL) | O_NONBLOCK);
    watch(_channel->fd, true);
    return true;
}

void smbd_transport::set_group(std::vector<smbd_transport*> group) {
    std::vector<smbd_transport*> members;
    for (smbd_transport* t : group) {
        // A member without an event channel could not receive its connections' events.
        if (t == this || t->open_channel()) {
            t->_registrar = this;
            members.push_back(t);
        }
    }
    _placement.set_members(members.size() < 2 ? std::vector<smbd_transport*>{} : members);
}

void smbd_transport::deal(rdma_cm_id* id) {
    auto it = _connections.find(id);
    if (it == _connections.end()) {
        return;
    }
    _placement.place(this, [&](smbd_transport* to) {
        // The kernel moves the id's pending events along (rdma_migrate_id(3)); from now
        // on its DISCONNECTED arrives on the new worker's channel.
        if (rdma_migrate_id(id, to->_channel) != 0) {
            LOG_NOTICE("rdma: rdma_migrate_id: %s; the connection stays on this worker",
                       strerror(errno));
            return false;
        }
        auto c = std::move(it->second);
        _connections.erase(it);
        watch(c->_qp->channel_fd(), false);
        c->_owner = to;
        LOG_INFO("rdma: SMB Direct connection %llu from %s goes to worker %u",
                 static_cast<unsigned long long>(c->_id), c->_peer.c_str(),
                 to->_worker ? to->_worker->index() : 0u);
        posted p(posted::adopt, c->_id);
        p.connection = std::move(c);
        to->_posted.post(std::move(p));
        return true;
    });
}

bool smbd_transport::listen() {
    if (!open_channel()) {
        return false;
    }
    for (const auto& address : _settings.addresses) {
        for (uint16_t port : _settings.ports) {
            sockaddr_in sin{};
            sin.sin_family = AF_INET;
            sin.sin_port = htons(port);
            if (inet_pton(AF_INET, address.c_str(), &sin.sin_addr) != 1) {
                LOG_ERROR("rdma: not an IPv4 address: %s", address.c_str());
                continue;
            }
            rdma_cm_id* id = nullptr;
            if (rdma_create_id(_channel, &id, nullptr, RDMA_PS_TCP) != 0) {
                LOG_ERROR("rdma: rdma_create_id: %s", strerror(errno));
                continue;
            }
            // Binding fails on an address no RDMA device serves: skip it.
            if (rdma_bind_addr(id, reinterpret_cast<sockaddr*>(&sin)) != 0 ||
                rdma_listen(id, 64) != 0) {
                LOG_NOTICE("rdma: no SMB Direct listener on %s:%u: %s", address.c_str(), port,
                           strerror(errno));
                rdma_destroy_id(id);
                continue;
            }
            LOG_NOTICE("rdma: SMB Direct listening on %s:%u", address.c_str(), port);
            _listeners.push_back(id);
        }
    }
    return !_listeners.empty();
}

std::vector<uint32_t> smbd_transport::listening_addresses() const {
    std::vector<uint32_t> out;
    for (rdma_cm_id* id : _listeners) {
        sockaddr* sa = rdma_get_local_addr(id);
        if (sa && sa->sa_family == AF_INET) {
            uint32_t a = reinterpret_cast<sockaddr_in*>(sa)->sin_addr.s_addr;
            if (std::find(out.begin(), out.end(), a) == out.end()) {
                out.push_back(a);
            }
        }
    }
    return out;
}

device_memory* smbd_transport::device_for(ibv_context* context) {
    if (_registrar != this) {
        return _registrar->device_for(context);
    }
    std::lock_guard lock(_devices_mutex);
    auto it = _devices.find(context);
    if (it != _devices.end()) {
        return it->second.get();
    }
    auto d = open_device_memory(context, _settings.pool_region, _settings.pool_size);
    if (!d) {
        return nullptr;
    }
    return _devices.emplace(context, std::move(d)).first->second.get();
}

bool smbd_transport::accept(rdma_cm_id* id, const rdma_conn_param& theirs) {
    std::string peer = address_of(rdma_get_peer_addr(id));
    device_memory* dev = device_for(id->verbs);
    if (!dev) {
        return false;
    }
    queue_pair_limits limits;
    limits.receive_slots = _settings.connection.receive_credit_max + 8u;
    limits.receive_size = _settings.connection.max_receive_size;
    limits.send_size = _settings.connection.max_send_size;
    auto c = std::make_shared<smbd_transport_connection>(*this, _next_id++, id, peer);
    c->_qp = verbs_queue_pair::create(id, *dev, limits);
    if (!c->_qp) {
        return false;
    }
    c->_engine = std::make_unique<smbd_connection>(*c->_qp, *c, _settings.connection, peer);
    // The receive for the negotiate request is posted before the client can send it.
    if (!c->_engine->start(smbd_clock::now())) {
        return false;
    }
    rdma_conn_param p{};
    // We issue the RDMA READs (initiator); the client issues none to us. The event's
    // values are already from our side (the kernel swaps the peer's): its
    // initiator_depth is the client's responder resources, how many READs we may have
    // outstanding.
    p.initiator_depth =
        uint8_t(std::min<int>(theirs.initiator_depth, dev->attr.max_qp_init_rd_atom));
    p.responder_resources =
        uint8_t(std::min<int>(theirs.responder_resources, dev->attr.max_qp_rd_atom));
    p.rnr_retry_count = 6;
    p.retry_count = 6;
    if (rdma_accept(id, &p) != 0) {
        LOG_NOTICE("rdma: rdma_accept from %s: %s", peer.c_str(), strerror(errno));
        return false;
    }
    LOG_INFO("rdma: SMB Direct connection from %s on %s (RDMA READ depth %u; client offered "
             "%u/%u)",
             peer.c_str(), ibv_get_device_name(id->verbs->device), p.initiator_depth,
             theirs.initiator_depth, theirs.responder_resources);
    watch(c->_qp->channel_fd(), true);
    _connections.emplace(id, std::move(c));
    return true;
}

void smbd_transport::handle_cm_event(rdma_cm_event& ev) {
    auto it = _connections.find(ev.id);
    smbd_transport_connection* c = it == _connections.end() ? nullptr : it->second.get();
    switch (ev.event) {
    case RDMA_CM_EVENT_CONNECT_REQUEST:
        break; // handled by poll(), which must ack before it may destroy the id
    case RDMA_CM_EVENT_ESTABLISHED:
        LOG_DEBUG("rdma: connection established");
        break;
    case RDMA_CM_EVENT_DISCONNECTED:
    case RDMA_CM_EVENT_CONNECT_ERROR:
    case RDMA_CM_EVENT_UNREACHABLE:
    case RDMA_CM_EVENT_REJECTED:
    case RDMA_CM_EVENT_DEVICE_REMOVAL:
        if (c && c->_engine) {
            c->_engine->on_peer_disconnected();
        }
        break;
    default:
        LOG_DEBUG("rdma: CM event %s", rdma_event_str(ev.event));
        break;
    }
}

unsigned smbd_transport::poll() {
    unsigned work = _posted.drain([this](posted& p) { run_posted(p); });
    rdma_cm_event* ev = nullptr;
    while (_channel && rdma_get_cm_event(_channel, &ev) == 0) {
        ++work;
        if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
            rdma_cm_id* id = ev->id;
            rdma_conn_param theirs = ev->param.conn;
            bool ok = accept(id, theirs);
            if (!ok) {
                auto it = _connections.find(id);
                if (it != _connections.end()) {
                    _connections.erase(it);
                }
                rdma_reject(id, nullptr, 0);
            }
            rdma_ack_cm_event(ev);
            if (!ok) {
                rdma_destroy_id(id); // its queue pair went with the connection object
            } else {
                deal(id);
            }
            continue;
        }
        handle_cm_event(*ev);
        rdma_ack_cm_event(ev);
    }
    const auto now = smbd_clock::now();
    for (auto& [id, c] : _connections) {
        if (c->_closed) {
            continue;
        }
        work += unsigned(c->_qp->poll(*c->_engine));
        if (!c->_closed) {
            work += unsigned(c->_engine->poll(now));
        }
    }
    reap();
    return work;
}

void smbd_transport::reap() {
    for (auto it = _connections.begin(); it != _connections.end();) {
        auto& c = it->second;
        if (!c->_closed) {
            ++it;
            continue;
        }
        watch(c->_qp->channel_fd(), false);
        c->_engine.reset();
        c->_qp.reset();
        rdma_destroy_id(it->first);
        c->_cm_id = nullptr;
        it = _connections.erase(it);
    }
}

bool smbd_transport::before_sleep() {
    for (auto& [id, c] : _connections) {
        c->_qp->arm();
        // A completion that arrived before the arm would not wake us: look once more.
        if (c->_qp->poll(*c->_engine) > 0) {
            return false;
        }
    }
    return _posted.empty_before_sleep();
}

void smbd_transport::after_sleep() {
    uint64_t ticks;
    while (read(_timer_fd, &ticks, sizeof ticks) > 0) {
    }
    for (auto& [id, c] : _connections) {
        c->_qp->drain_notifications();
    }
}

} // namespace smbx::rdma
