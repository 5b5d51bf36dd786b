#include "rdma/verbs_queue_pair.hh"

#include <cerrno>
#include <cstring>
#include <fcntl.h>

#include "common/log.hh"

namespace smbx::rdma {

device_memory::~device_memory() {
    if (pool_mr) {
        ibv_dereg_mr(pool_mr);
    }
    if (pd) {
        ibv_dealloc_pd(pd);
    }
}

namespace {

bool covers(const ibv_mr* mr, const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    auto* base = static_cast<const uint8_t*>(mr->addr);
    return b >= base && n <= mr->length && size_t(b - base) <= mr->length - n;
}

} // namespace

std::optional<uint32_t> device_memory::lkey_for(const void* p, size_t n) const {
    if (pool_mr && covers(pool_mr, p, n)) {
        return pool_mr->lkey;
    }
    std::lock_guard lock(_transfer_mutex);
    auto it = _transfer_mrs.upper_bound(uintptr_t(p));
    if (it == _transfer_mrs.begin() || !covers(std::prev(it)->second, p, n)) {
        return std::nullopt;
    }
    return std::prev(it)->second->lkey;
}

std::shared_ptr<void> device_memory::register_for_transfer(void* p, size_t n) {
    ibv_mr* mr = ibv_reg_mr(pd, p, n, IBV_ACCESS_LOCAL_WRITE);
    if (!mr) {
        LOG_NOTICE("rdma: registering a %zu-byte buffer outside the pool: %s", n, strerror(errno));
        return nullptr;
    }
    {
        std::lock_guard lock(_transfer_mutex);
        _transfer_mrs[uintptr_t(p)] = mr;
    }
    return std::shared_ptr<void>(mr, [this](void* m) {
        auto* mr = static_cast<ibv_mr*>(m);
        {
            std::lock_guard lock(_transfer_mutex);
            _transfer_mrs.erase(uintptr_t(mr->addr));
        }
        ibv_dereg_mr(mr);
    });
}

std::unique_ptr<device_memory> open_device_memory(ibv_context* context, void* region, size_t size,
                                                  int access) {
    auto d = std::make_unique<device_memory>();
    d->context = context;
    if (ibv_query_device(context, &d->attr) != 0) {
        LOG_ERROR("rdma: ibv_query_device(%s): %s", ibv_get_device_name(context->device),
                  strerror(errno));
        return nullptr;
    }
    d->pd = ibv_alloc_pd(context);
    if (!d->pd) {
        LOG_ERROR("rdma: ibv_alloc_pd(%s): %s", ibv_get_device_name(context->device),
                  strerror(errno));
        return nullptr;
    }
    if (region && size) {
        // The server: local access only, it reads and writes client memory, never the
        // reverse. A client passes remote access for the server's RDMA READ and WRITE.
        d->pool_mr = ibv_reg_mr(d->pd, region, size, access);
        if (!d->pool_mr) {
            LOG_ERROR("rdma: registering the %zu-byte buffer pool with %s: %s", size,
                      ibv_get_device_name(context->device), strerror(errno));
            return nullptr;
        }
        LOG_INFO("rdma: buffer pool (%zu bytes) registered with %s", size,
                 ibv_get_device_name(context->device));
    }
    return d;
}

verbs_queue_pair::verbs_queue_pair(rdma_cm_id* id, device_memory& device,
                                   const queue_pair_limits& limits)
    : _id(id), _device(device), _limits(limits) {}

std::unique_ptr<verbs_queue_pair> verbs_queue_pair::create(rdma_cm_id* id, device_memory& device,
                                                           const queue_pair_limits& limits) {
    std::unique_ptr<verbs_queue_pair> q(new verbs_queue_pair(id, device, limits));
    const char* dev = ibv_get_device_name(device.context->device);
    q->_channel = ibv_create_comp_channel(device.context);
    if (!q->_channel) {
        LOG_ERROR("rdma: ibv_create_comp_channel(%s): %s", dev, strerror(errno));
        return nullptr;
    }
    fcntl(q->_channel->fd, F_SETFL, fcntl(q->_channel->fd, F_GETFL) | O_NONBLOCK);
    const int cqe = int(limits.receive_slots + limits.send_slots + limits.rdma_slots);
    q->_cq = ibv_create_cq(device.context, cqe, nullptr, q->_channel, 0);
    if (!q->_cq) {
        LOG_ERROR("rdma: ibv_create_cq(%s, %d): %s", dev, cqe, strerror(errno));
        return nullptr;
    }
    ibv_qp_init_attr attr{};
    attr.send_cq = q->_cq;
    attr.recv_cq = q->_cq;
    attr.qp_type = IBV_QPT_RC;
    attr.cap.max_send_wr = limits.send_slots + limits.rdma_slots;
    attr.cap.max_recv_wr = limits.receive_slots;
    attr.cap.max_send_sge = 1;
    attr.cap.max_recv_sge = 1;
    if (rdma_create_qp(id, device.pd, &attr) != 0) {
        LOG_ERROR("rdma: rdma_create_qp(%s): %s", dev, strerror(errno));
        return nullptr;
    }
    q->_qp_created = true;
    size_t slab = size_t(limits.receive_slots) * limits.receive_size +
                  size_t(limits.send_slots) * limits.send_size;
    q->_slab.resize(slab);
    q->_slab_mr = ibv_reg_mr(device.pd, q->_slab.data(), slab, IBV_ACCESS_LOCAL_WRITE);
    if (!q->_slab_mr) {
        LOG_ERROR("rdma: registering %zu bytes of send/receive buffers: %s", slab, strerror(errno));
        return nullptr;
    }
    for (uint32_t i = limits.receive_slots; i-- > 0;) {
        q->_free_receives.push_back(i);
    }
    for (uint32_t i = limits.send_slots; i-- > 0;) {
        q->_free_sends.push_back(i);
    }
    q->_send_with_invalidate = device.attr.device_cap_flags & IBV_DEVICE_MEM_MGT_EXTENSIONS;
    // Soft-RoCE (rxe, vendor id 0xFFFFFF) hands user space the kernel's completion flags
    // unchanged: its IB_WC_WITH_INVALIDATE (1 << 2) reads as IBV_WC_IP_CSUM_OK, which an
    // RC receive never carries otherwise (seen on Debian 12's 6.1 kernel, rdma-core 44).
    constexpr uint32_t soft_roce_vendor_id = 0xFFFFFF;
    if (device.attr.vendor_id == soft_roce_vendor_id) {
        q->_with_invalidate_flags |= IBV_WC_IP_CSUM_OK;
    }
    return q;
}

verbs_queue_pair::~verbs_queue_pair() {
    if (_qp_created) {
        rdma_destroy_qp(_id);
    }
    if (_cq) {
        if (_unacked_events) {
            ibv_ack_cq_events(_cq, _unacked_events);
        }
        ibv_destroy_cq(_cq);
    }
    if (_channel) {
        ibv_destroy_comp_channel(_channel);
    }
    if (_slab_mr) {
        ibv_dereg_mr(_slab_mr);
    }
}

bool verbs_queue_pair::post_recv() {
    if (_disconnected || _free_receives.empty()) {
        return false;
    }
    uint32_t slot = _free_receives.back();
    ibv_sge sge{};
    sge.addr = uintptr_t(_slab.data() + size_t(slot) * _limits.receive_size);
    sge.length = _limits.receive_size;
    sge.lkey = _slab_mr->lkey;
    ibv_recv_wr wr{};
    wr.wr_id = tag(kind::recv, slot);
    wr.sg_list = &sge;
    wr.num_sge = 1;
    ibv_recv_wr* bad = nullptr;
    if (int rc = ibv_post_recv(_id->qp, &wr, &bad); rc != 0) {
        LOG_NOTICE("rdma: ibv_post_recv: %s", strerror(rc));
        return false;
    }
    _free_receives.pop_back();
    return true;
}

bool verbs_queue_pair::post_send(byte_span header, byte_span body1, byte_span body2,
                                 std::optional<uint32_t> invalidate_token) {
    const size_t total = header.size() + body1.size() + body2.size();
    if (_disconnected || _free_sends.empty() || total > _limits.send_size) {
        return false;
    }
    uint32_t slot = _free_sends.back();
    uint8_t* at = _slab.data() + size_t(_limits.receive_slots) * _limits.receive_size +
                  size_t(slot) * _limits.send_size;
    uint8_t* p = at;
    for (byte_span part : {header, body1, body2}) {
        if (!part.empty()) {
            std::memcpy(p, part.data(), part.size());
            p += part.size();
        }
    }
    ibv_sge sge{};
    sge.addr = uintptr_t(at);
    sge.length = uint32_t(total);
    sge.lkey = _slab_mr->lkey;
    ibv_send_wr wr{};
    wr.wr_id = tag(kind::send, slot);
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.opcode = IBV_WR_SEND;
    // MS-SMBD 3.1.5.1: without provider support for remote invalidation the token MAY be
    // ignored (the client then invalidates it itself).
    if (invalidate_token && _send_with_invalidate) {
        wr.opcode = IBV_WR_SEND_WITH_INV;
        wr.invalidate_rkey = *invalidate_token;
    }
    ibv_send_wr* bad = nullptr;
    if (int rc = ibv_post_send(_id->qp, &wr, &bad); rc != 0) {
        LOG_NOTICE("rdma: ibv_post_send: %s", strerror(rc));
        return false;
    }
    _free_sends.pop_back();
    return true;
}

bool verbs_queue_pair::post_rdma(ibv_wr_opcode op, uint64_t wr_id,
                                 const buffer_descriptor_v1& remote, uint8_t* local, size_t n) {
    if (_disconnected || _rdma_in_flight >= _limits.rdma_slots) {
        return false;
    }
    auto lkey = _device.lkey_for(local, n);
    if (!lkey) {
        // The transport hands down only registered buffers; a bug, not client input.
        LOG_ERROR("rdma: RDMA buffer outside any registration");
        return false;
    }
    ibv_sge sge{};
    sge.addr = uintptr_t(local);
    sge.length = uint32_t(n);
    sge.lkey = *lkey;
    ibv_send_wr wr{};
    wr.wr_id = tag(kind::rdma, wr_id);
    wr.sg_list = &sge;
    wr.num_sge = 1;
    wr.opcode = op;
    wr.send_flags = IBV_SEND_SIGNALED;
    wr.wr.rdma.remote_addr = remote.offset;
    wr.wr.rdma.rkey = remote.token;
    ibv_send_wr* bad = nullptr;
    if (int rc = ibv_post_send(_id->qp, &wr, &bad); rc != 0) {
        LOG_NOTICE("rdma: ibv_post_send (RDMA): %s", strerror(rc));
        return false;
    }
    ++_rdma_in_flight;
    return true;
}

bool verbs_queue_pair::post_rdma_read(uint64_t wr_id, const buffer_descriptor_v1& remote,
                                      std::span<uint8_t> local) {
    return post_rdma(IBV_WR_RDMA_READ, wr_id, remote, local.data(), local.size());
}

bool verbs_queue_pair::post_rdma_write(uint64_t wr_id, const buffer_descriptor_v1& remote,
                                       byte_span local) {
    return post_rdma(IBV_WR_RDMA_WRITE, wr_id, remote, const_cast<uint8_t*>(local.data()),
                     local.size());
}

void verbs_queue_pair::disconnect() {
    if (_disconnected) {
        return;
    }
    _disconnected = true;
    rdma_disconnect(_id);
    // rdma_disconnect moves an RC QP to the error state; do it here as well, so that
    // the posted work requests flush even if the connection never got established.
    ibv_qp_attr attr{};
    attr.qp_state = IBV_QPS_ERR;
    ibv_modify_qp(_id->qp, &attr, IBV_QP_STATE);
}

int verbs_queue_pair::poll(smbd_connection& engine) {
    ibv_wc wc[16];
    int n = ibv_poll_cq(_cq, 16, wc);
    if (n < 0) {
        LOG_ERROR("rdma: ibv_poll_cq failed");
        return 0;
    }
    for (int i = 0; i < n; ++i) {
        const uint64_t v = wc[i].wr_id & ((uint64_t(1) << 60) - 1);
        const bool ok = wc[i].status == IBV_WC_SUCCESS;
        if (!ok && wc[i].status != IBV_WC_WR_FLUSH_ERR) {
            LOG_NOTICE("rdma: work completion error: %s", ibv_wc_status_str(wc[i].status));
        }
        switch (kind(wc[i].wr_id >> 60)) {
        case kind::recv:
            if (ok && (wc[i].wc_flags & _with_invalidate_flags) && on_remote_invalidate) {
                on_remote_invalidate(wc[i].invalidated_rkey);
            }
            if (ok) {
                engine.on_receive(
                    byte_span(_slab.data() + v * _limits.receive_size, wc[i].byte_len));
            } else {
                engine.on_receive_error();
            }
            _free_receives.push_back(uint32_t(v)); // only now: the engine read it above
            break;
        case kind::send:
            _free_sends.push_back(uint32_t(v));
            engine.on_send_done(ok);
            break;
        case kind::rdma:
            --_rdma_in_flight;
            engine.on_rdma_done(v, ok);
            break;
        }
    }
    return n;
}

bool verbs_queue_pair::arm() {
    return ibv_req_notify_cq(_cq, 0) == 0;
}

void verbs_queue_pair::drain_notifications() {
    ibv_cq* cq = nullptr;
    void* ctx = nullptr;
    while (ibv_get_cq_event(_channel, &cq, &ctx) == 0) {
        ++_unacked_events;
    }
    if (_unacked_events) {
        ibv_ack_cq_events(_cq, _unacked_events);
        _unacked_events = 0;
    }
}

} // namespace smbx::rdma
