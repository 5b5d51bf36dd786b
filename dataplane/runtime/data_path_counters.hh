// Counters of where payload bytes went on their way between file and wire: the proof
// (and the operator's check, `smbxctl status`) that READ/WRITE data is not copied.
// Relaxed atomics: they are statistics, read while the workers run.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace smbx::counters {

struct data_path {
    // File reads/writes through io_uring with the pool registered as a fixed buffer, and
    // those that had to use an unregistered buffer (heap fallback, registration refused).
    std::atomic<uint64_t> file_read_fixed_bytes{0};
    std::atomic<uint64_t> file_read_unregistered_bytes{0};
    std::atomic<uint64_t> file_write_fixed_bytes{0};
    std::atomic<uint64_t> file_write_unregistered_bytes{0};
    // READ data handed to a transport in the pool buffer it was read into.
    std::atomic<uint64_t> payload_sent_from_pool_bytes{0};
    // Bytes the kernel sent straight from pool buffers (IORING_OP_SENDMSG_ZC).
    std::atomic<uint64_t> payload_sent_zero_copy_bytes{0};
    // Payloads that would have gone zero-copy but were copied by the kernel (plain
    // sendmsg) because their connection already held its limit of buffers awaiting
    // notifications (tcp_transport::default_zero_copy_held_limit).
    std::atomic<uint64_t> payload_sent_over_zc_limit_bytes{0};
    // READ data copied into a response message (compounds; AES-CCM).
    std::atomic<uint64_t> payload_copied_bytes{0};
    // Bytes read/written with O_DIRECT (`direct io` shares), and the requests that were
    // not block aligned and went through the page cache instead.
    std::atomic<uint64_t> direct_io_bytes{0};
    std::atomic<uint64_t> direct_io_unaligned{0};
    // TCP receive (tcp/tcp_receive.cc): receives that brought data, each in one buffer
    // of the worker's provided-buffer ring, and their bytes; messages handed to the
    // engine in the provided buffer they arrived in (no copy); bytes copied from
    // provided buffers into a message's pool buffer (a message spanning buffers, or the
    // start of a large one); bytes received straight into a large message's pool buffer;
    // and the times the ring was empty (ENOBUFS). Lent messages per provided buffer is
    // the batching: how many requests one receive picked up.
    std::atomic<uint64_t> tcp_recv_provided_buffers{0};
    std::atomic<uint64_t> tcp_recv_provided_bytes{0};
    std::atomic<uint64_t> tcp_recv_lent_messages{0};
    std::atomic<uint64_t> tcp_recv_assembled_bytes{0};
    std::atomic<uint64_t> tcp_recv_direct_bytes{0};
    std::atomic<uint64_t> tcp_recv_no_buffers{0};
    // SMB Direct transfers (RDMA READ/WRITE) whose buffer lay outside the registered pool
    // (the pool ran dry) and was registered for that transfer alone.
    std::atomic<uint64_t> rdma_transfer_registrations{0};
    // SMB2 messages the network worker processed itself (smb_server::process_on_worker:
    // ECHO, READs from the page cache, WRITEs to files in memory), and those it handed
    // to the request threads.
    std::atomic<uint64_t> smb2_messages_on_worker{0};
    std::atomic<uint64_t> smb2_messages_to_request_threads{0};
};

data_path& data();

inline void add(std::atomic<uint64_t>& c, uint64_t n) {
    c.fetch_add(n, std::memory_order_relaxed);
}

// Name/value pairs of every data-path counter, of the buffer pool and of what
// transports published (below), for status.
std::vector<std::pair<std::string, uint64_t>> snapshot();

// Counters a transport keeps in its own thread and publishes under its own names (the
// DPDK transport's stacks: dpdk_*), summed over the workers that publish the same name.
// Each publisher remembers what it published last and adds only the change, so gauges
// (connections open, buffers held) sum correctly too.
class published_counters {
public:
    void set(const std::string& name, uint64_t value);

private:
    std::vector<std::pair<std::string, uint64_t>> _last;
};

} // namespace smbx::counters
