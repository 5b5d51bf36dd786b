// Counters of where payload bytes went on their way between file and wire: the proof
// (and the operator's check, `smbxctl status`) that READ/WRITE data is not copied.
//
// Per thread, summed when read: every thread that counts (a worker, a request thread,
// the control thread) owns a cache-line aligned block of its own, registered at its
// first count. Only the owner writes its block, with a relaxed load and store (no
// read-modify-write, no shared cache line); status reads every block with relaxed
// loads while the workers run. A thread that ends folds its block into a retired sum,
// so nothing it counted is lost.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace smbx::counters {

// One statistic in one thread's block. add() only from the block's own thread.
class counter {
public:
    void add(uint64_t n) {
        _value.store(_value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    uint64_t load() const { return _value.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> _value{0};
};

// Per SMB2 command: responses by the NTSTATUS severity class (the status's top two
// bits: success, informational, warning, error), and the bytes of the request and of
// the response (header, body and payload: a WRITE's data counts in, a READ's out).
// An async request is counted at its interim response (STATUS_PENDING, success).
struct smb2_command_counters {
    static constexpr size_t status_classes = 4;
    counter responses[status_classes];
    counter request_bytes;
    counter response_bytes;
};
constexpr size_t smb2_command_count = 19; // NEGOTIATE (0) .. OPLOCK_BREAK (18)

// A new counter is also named in data_path_counters.cc (`named`), for status.
struct alignas(64) data_path {
    // File reads/writes through io_uring with the pool registered as a fixed buffer, and
    // those that had to use an unregistered buffer (heap fallback, registration refused).
    counter file_read_fixed_bytes;
    counter file_read_unregistered_bytes;
    counter file_write_fixed_bytes;
    counter file_write_unregistered_bytes;
    // READ data handed to a transport in the pool buffer it was read into.
    counter payload_sent_from_pool_bytes;
    // Bytes the kernel sent straight from pool buffers (IORING_OP_SENDMSG_ZC).
    counter payload_sent_zero_copy_bytes;
    // Payloads that would have gone zero-copy but were copied by the kernel (plain
    // sendmsg) because their connection already held its limit of buffers awaiting
    // notifications (tcp_transport::default_zero_copy_held_limit).
    counter payload_sent_over_zc_limit_bytes;
    // READ data copied into a response message (compounds; AES-CCM).
    counter payload_copied_bytes;
    // Bytes read/written with O_DIRECT (`direct io` shares), and the requests that were
    // not block aligned and went through the page cache instead.
    counter direct_io_bytes;
    counter direct_io_unaligned;
    // TCP receive (tcp/tcp_receive.cc): receives that brought data, each in one buffer
    // of the worker's provided-buffer ring, and their bytes; messages handed to the
    // engine in the provided buffer they arrived in (no copy); bytes copied from
    // provided buffers into a message's pool buffer (a message spanning buffers, or the
    // start of a large one); bytes received straight into a large message's pool buffer;
    // and the times the ring was empty (ENOBUFS). Lent messages per provided buffer is
    // the batching: how many requests one receive picked up.
    counter tcp_recv_provided_buffers;
    counter tcp_recv_provided_bytes;
    counter tcp_recv_lent_messages;
    counter tcp_recv_assembled_bytes;
    counter tcp_recv_direct_bytes;
    counter tcp_recv_no_buffers;
    // SMB Direct transfers (RDMA READ/WRITE) whose buffer lay outside the registered pool
    // (the pool ran dry) and was registered for that transfer alone.
    counter rdma_transfer_registrations;
    // SMB2 messages the network worker processed itself (smb_server::process_on_worker:
    // ECHO, READ, WRITE, their file I/O asynchronous there when it may wait), and those
    // it handed to the request threads (compounds, other commands, streams, RDMA
    // channels). A deferred READ or WRITE whose completion found a request thread
    // holding the connection is answered on the strand instead: counted apart.
    counter smb2_messages_on_worker;
    counter smb2_messages_to_request_threads;
    counter smb2_completions_to_request_threads;
    // File reads issued for SMB2 READ requests (each attempt, on a worker or a request
    // thread): none happens before the request passed its checks (dispatch.cc).
    counter smb2_read_file_reads;
    // File operations a worker handed to its own io_uring (file_io_ring.hh) instead of
    // waiting for them: READ data the page cache did not hold, WRITEs to file systems
    // with a device behind them, `direct io` files, and write-through flushes.
    counter worker_file_reads;
    counter worker_file_writes;
    counter worker_file_syncs;
    // Bytes copied inside the server for FSCTL_SRV_COPYCHUNK(_WRITE) (copy_file_range
    // or splice on a request thread; none of it crossed the network).
    counter server_copy_bytes;
    // Oplock and lease break notifications sent to clients (smb2/lease_router), and the
    // acknowledgements the arbiter accepted (smb2/oplock_break.cc).
    counter oplock_breaks_sent;
    counter lease_breaks_sent;
    counter break_acknowledgements;
    // By command code; for the metrics, not listed in `smbxctl status`.
    smb2_command_counters smb2_commands[smb2_command_count];

    // Not a statistic: the worker whose thread owns the block (set_worker), for the
    // metrics' worker label. Written and read only under the registry's mutex.
    uint32_t worker = not_a_worker;
    static constexpr uint32_t not_a_worker = 0xFFFFFFFF;
};

namespace detail {
// The calling thread's block; constinit, so other files read it without a TLS
// wrapper call: data() is on every request's path.
extern thread_local constinit data_path* tls_block;
data_path& register_block();
} // namespace detail

// The calling thread's block (registered on first use). Write to it only through add().
inline data_path& data() {
    data_path* b = detail::tls_block;
    return b ? *b : detail::register_block();
}

inline void add(counter& c, uint64_t n) {
    c.add(n);
}

// One SMB2 response of command `cmd` with `status` (a command code beyond the table,
// refused as such, is not counted).
inline void count_smb2_response(uint16_t cmd, uint32_t status, uint64_t request_bytes,
                                uint64_t response_bytes) {
    if (cmd >= smb2_command_count) {
        return;
    }
    auto& c = data().smb2_commands[cmd];
    c.responses[status >> 30].add(1);
    c.request_bytes.add(request_bytes);
    c.response_bytes.add(response_bytes);
}

// One counter summed over every thread's block, the ended threads' included.
uint64_t total(counter data_path::*field);

// The calling thread is worker `index`: its block's counts are reported under that
// worker (per_worker_snapshot).
void set_worker(uint32_t index);

// Every per-thread counter by worker: one entry per counter and worker, then one per
// counter for every other thread and the ended ones (worker = data_path::not_a_worker).
// The per-command counters are named smb2_command:<code>:responses_<class 0-3>,
// smb2_command:<code>:request_bytes and smb2_command:<code>:response_bytes.
struct worker_value {
    std::string name;
    uint32_t worker;
    uint64_t value;
};
std::vector<worker_value> per_worker_snapshot();

// Name/value pairs of every data-path counter (summed over the threads), of the buffer
// pool and of what transports published (below), for status.
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
