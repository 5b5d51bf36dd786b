// One SMB Direct connection as the SMB2 engine sees it. Calls from other threads are
// queued to the transport and run on its worker (as the TCP transport does).
#include <chrono>
#include <future>

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "rdma/smbd_transport.hh"

namespace smbx::rdma {

smbd_transport_connection::smbd_transport_connection(smbd_transport& owner, uint64_t id,
                                                     rdma_cm_id* cm_id, std::string peer)
    : _owner(&owner), _id(id), _cm_id(cm_id), _peer(std::move(peer)) {}

void smbd_transport_connection::send(out_message message) {
    smbd_transport::posted p(smbd_transport::posted::send, _id);
    p.message = std::move(message);
    if (uint64_t t = _invalidate_next.exchange(0); t != 0) {
        p.token = uint32_t(t);
    }
    // On the worker itself (a request it processed in place): straight to the engine.
    _owner->_posted.run_or_post(std::move(p),
                                [this](smbd_transport::posted q) { _owner->run_posted(q); });
}

void smbd_transport_connection::rdma_invalidate_with_next_reply(uint32_t token) {
    _invalidate_next.store((uint64_t(1) << 32) | token);
}

namespace {

// How long a request thread waits for one transfer. The worker always calls back (on
// completion, flush or teardown); this only bounds a shutdown that stops the worker
// with transfers still queued.
constexpr auto rdma_wait_limit = std::chrono::seconds(60);

template <typename Start> bool wait_for_transfer(pool_buffer& buffer, Start start) {
    auto result = std::make_shared<std::promise<std::pair<bool, pool_buffer>>>();
    auto future = result->get_future();
    start(std::move(buffer), [result](bool ok, pool_buffer b) {
        result->set_value({ok, std::move(b)});
    });
    if (future.wait_for(rdma_wait_limit) != std::future_status::ready) {
        LOG_ERROR("smbd: an RDMA transfer did not finish within %lld s",
                  static_cast<long long>(rdma_wait_limit.count()));
        return false; // the buffer stays with the transfer until it ends
    }
    auto [ok, b] = future.get();
    buffer = std::move(b);
    return ok;
}

} // namespace

bool smbd_transport_connection::rdma_read(std::vector<buffer_descriptor_v1> remote,
                                          pool_buffer& into) {
    return wait_for_transfer(into, [&](pool_buffer b, rdma_done done) {
        start_rdma_read(std::move(remote), std::move(b), std::move(done));
    });
}

bool smbd_transport_connection::rdma_write(std::vector<buffer_descriptor_v1> remote,
                                           pool_buffer& from) {
    return wait_for_transfer(from, [&](pool_buffer b, rdma_done done) {
        start_rdma_write(std::move(remote), std::move(b), std::move(done));
    });
}

void smbd_transport_connection::send_invalidate(out_message message, uint32_t token) {
    smbd_transport::posted p(smbd_transport::posted::send, _id);
    p.message = std::move(message);
    p.token = token;
    _owner->_posted.post(std::move(p));
}

void smbd_transport_connection::close() {
    _owner->_posted.post(smbd_transport::posted(smbd_transport::posted::close, _id));
}

void smbd_transport_connection::start_rdma_read(std::vector<buffer_descriptor_v1> remote,
                                                pool_buffer into, rdma_done done) {
    smbd_transport::posted p(smbd_transport::posted::rdma_read, _id);
    p.remote = std::move(remote);
    p.buffer = std::move(into);
    p.done = std::move(done);
    _owner->_posted.post(std::move(p));
}

void smbd_transport_connection::start_rdma_write(std::vector<buffer_descriptor_v1> remote,
                                                 pool_buffer from, rdma_done done) {
    smbd_transport::posted p(smbd_transport::posted::rdma_write, _id);
    p.remote = std::move(remote);
    p.buffer = std::move(from);
    p.done = std::move(done);
    _owner->_posted.post(std::move(p));
}

void smbd_transport_connection::on_established() {
    _max_read_write_size = _engine->negotiated().max_read_write_size;
    _announced = true;
    _owner->_events.on_connect(shared_from_this());
}

void smbd_transport_connection::on_message(bytes message) {
    // pool_buffer adopts the reassembled vector: no copy.
    _owner->_events.on_message(shared_from_this(), pool_buffer(std::move(message)));
}

void smbd_transport_connection::on_closed() {
    _closed = true; // the transport destroys the queue pair after this call returns
    if (_announced) {
        _owner->_events.on_disconnect(shared_from_this());
    }
}

void smbd_transport::run_posted(posted& p) {
    std::shared_ptr<smbd_transport_connection> c;
    for (auto& [id, conn] : _connections) {
        if (conn->_id == p.id) {
            c = conn;
            break;
        }
    }
    const bool live = c && c->_engine && !c->_closed;
    switch (p.what) {
    case posted::send: {
        if (!live) {
            return; // closed meanwhile: queued sends are dropped
        }
        // The payload stays in its pool buffer until the last fragment is copied out.
        auto owner = std::make_shared<pool_buffer>(std::move(p.message.payload));
        byte_span payload = owner->view();
        auto r = c->_engine->send_message(std::move(p.message.head), payload, owner, p.token);
        if (r == smbd_connection::send_result::too_large) {
            LOG_ERROR("smbd %s: reply larger than the client's MaxFragmentedSize",
                      c->_peer.c_str());
            c->_engine->close("reply too large");
        }
        return;
    }
    case posted::close:
        if (live) {
            c->_engine->close("closed by the server");
        }
        return;
    case posted::rdma_read:
    case posted::rdma_write:
        break;
    case posted::adopt:
        c = std::move(p.connection);
        watch(c->_qp->channel_fd(), true);
        _connections.emplace(c->_cm_id, std::move(c));
        return;
    }
    // RDMA: the hardware needs registered memory. Pool buffers are (one registration
    // per device); a heap buffer, handed out when the pool ran dry, is registered for
    // this transfer alone, so that a busy server slows down instead of failing I/O.
    auto holder = std::make_shared<pool_buffer>(std::move(p.buffer));
    auto done = std::move(p.done);
    if (!live) {
        done(false, std::move(*holder));
        return;
    }
    device_memory* dev = device_for(c->_cm_id->verbs);
    std::shared_ptr<void> transfer_mr;
    bool registered = dev && dev->lkey_for(holder->data(), holder->size());
    if (dev && !registered) {
        transfer_mr = dev->register_for_transfer(holder->data(), holder->size());
        registered = transfer_mr != nullptr;
        if (registered) {
            counters::add(counters::data().rdma_transfer_registrations, 1);
        }
    }
    if (!registered) {
        LOG_NOTICE("smbd %s: RDMA buffer not registered", c->_peer.c_str());
        done(false, std::move(*holder));
        return;
    }
    // The callback owns the buffer and its transfer registration until the work ends.
    auto callback = [holder, done, transfer_mr](bool ok) { done(ok, std::move(*holder)); };
    auto r = p.what == posted::rdma_read
                 ? c->_engine->rdma_read(p.remote, holder->span(), callback)
                 : c->_engine->rdma_write(p.remote, holder->view(), callback);
    if (r != smbd_connection::rdma_result::started) {
        done(false, std::move(*holder));
    }
}

} // namespace smbx::rdma
