// The real verbs_port: one RC queue pair of an accepted RDMA CM connection, its own
// completion queue (polled by the worker that owns the connection, never by a thread of
// its own; the completion channel fd lets an idle worker sleep on it), and its send and
// receive buffers, one slab registered once when the connection is set up. RDMA READ and
// WRITE use the caller's memory: the data plane's buffer pool, registered once per
// device (device_memory).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#include "rdma/smbd_connection.hh"
#include "rdma/verbs_port.hh"

namespace smbx::rdma {

// One device's protection domain and the caller's memory region registered with it
// (once: every connection on the device uses the same lkey).
struct device_memory {
    ibv_context* context = nullptr;
    ibv_pd* pd = nullptr;
    ibv_mr* pool_mr = nullptr; // null when no region was handed in
    ibv_device_attr attr{};
    ~device_memory();
    // The lkey covering [p, p + n): the region's, or a transfer registration's; nullopt
    // when neither covers it.
    std::optional<uint32_t> lkey_for(const void* p, size_t n) const;
    // Registers [p, p + n) for one transfer, until the returned handle goes: for a
    // buffer the pool could not serve (it ran dry and the buffer came from the heap).
    // Slow (a registration per transfer), but the request succeeds. Null if refused.
    // Any thread: the workers of a group share the device.
    std::shared_ptr<void> register_for_transfer(void* p, size_t n);

private:
    mutable std::mutex _transfer_mutex;
    std::map<uintptr_t, ibv_mr*> _transfer_mrs; // by start address
};

// Opens (once) the device behind `context` and registers [region, region + size) with it,
// with `access` (ibv_access_flags): local only for the server's pool; a client whose
// buffers the server reads and writes (smbx-bench) adds remote read and write.
std::unique_ptr<device_memory> open_device_memory(ibv_context* context, void* region, size_t size,
                                                  int access = IBV_ACCESS_LOCAL_WRITE);

struct queue_pair_limits {
    uint32_t receive_slots = 255 + 8; // receive credits, plus reposts during a callback
    uint32_t receive_size = 1364;
    uint32_t send_slots = 64;
    uint32_t send_size = 1364;
    uint32_t rdma_slots = 64; // RDMA READ/WRITE work requests in flight
};

class verbs_queue_pair final : public verbs_port {
public:
    // Creates the CQ, completion channel, QP (rdma_create_qp on `id`) and buffers.
    // Returns null (and logs) on failure; `id` stays the caller's to reject and destroy.
    static std::unique_ptr<verbs_queue_pair> create(rdma_cm_id* id, device_memory& device,
                                                    const queue_pair_limits& limits);
    ~verbs_queue_pair() override;

    // verbs_port
    bool post_recv() override;
    bool post_send(byte_span header, byte_span body1, byte_span body2,
                   std::optional<uint32_t> invalidate_token) override;
    bool post_rdma_read(uint64_t wr_id, const buffer_descriptor_v1& remote,
                        std::span<uint8_t> local) override;
    bool post_rdma_write(uint64_t wr_id, const buffer_descriptor_v1& remote,
                         byte_span local) override;
    void disconnect() override;

    // Polls the CQ and hands each completion to `engine`. Returns how many.
    int poll(smbd_connection& engine);
    // Before sleeping: request a notification; false if completions are already there.
    bool arm();
    // After waking: consume the channel's notifications.
    void drain_notifications();
    int channel_fd() const { return _channel ? _channel->fd : -1; }
    rdma_cm_id* id() const { return _id; }

    // A client's hook: a received SEND with Invalidate (IBV_WC_WITH_INV) invalidated
    // this rkey of ours (MS-SMBD 3.1.4.2, SMB2_CHANNEL_RDMA_V1_INVALIDATE). Called from
    // poll(), before the engine sees the message.
    std::function<void(uint32_t rkey)> on_remote_invalidate;

private:
    enum class kind : uint64_t { recv = 1, send = 2, rdma = 3 };
    static uint64_t tag(kind k, uint64_t v) { return (uint64_t(k) << 60) | v; }
    verbs_queue_pair(rdma_cm_id* id, device_memory& device, const queue_pair_limits& limits);
    bool post_rdma(ibv_wr_opcode op, uint64_t wr_id, const buffer_descriptor_v1& remote,
                   uint8_t* local, size_t n);

    rdma_cm_id* _id;
    device_memory& _device;
    queue_pair_limits _limits;
    ibv_comp_channel* _channel = nullptr;
    ibv_cq* _cq = nullptr;
    bool _qp_created = false;
    std::vector<uint8_t> _slab; // receive slots, then send slots
    ibv_mr* _slab_mr = nullptr;
    std::vector<uint32_t> _free_receives;
    std::vector<uint32_t> _free_sends;
    uint32_t _rdma_in_flight = 0;
    bool _disconnected = false;
    bool _send_with_invalidate = false;
    unsigned _with_invalidate_flags = IBV_WC_WITH_INV; // a receive's wc_flags meaning it
    int _unacked_events = 0;
};

} // namespace smbx::rdma
