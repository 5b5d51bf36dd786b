#include "dataplane/runtime/data_path_counters.hh"

#include <algorithm>
#include <mutex>

#include "dataplane/runtime/buffer_pool.hh"

namespace smbx::counters {

// Plain thread-local data (no guard, no destructor), so that it stays usable while
// the thread ends.
thread_local constinit data_path* detail::tls_block = nullptr;

namespace {

using detail::tls_block;

struct published_sums {
    std::mutex mutex;
    std::vector<std::pair<std::string, uint64_t>> values; // in order of first publication
};

published_sums& published() {
    static published_sums p;
    return p;
}

// status's names, in status's order: one table for snapshot() and for retiring a block.
struct named_counter {
    const char* name;
    counter data_path::*field;
};
constexpr named_counter named[] = {
    {"file_read_fixed_bytes", &data_path::file_read_fixed_bytes},
    {"file_read_unregistered_bytes", &data_path::file_read_unregistered_bytes},
    {"file_write_fixed_bytes", &data_path::file_write_fixed_bytes},
    {"file_write_unregistered_bytes", &data_path::file_write_unregistered_bytes},
    {"payload_sent_from_pool_bytes", &data_path::payload_sent_from_pool_bytes},
    {"payload_sent_zero_copy_bytes", &data_path::payload_sent_zero_copy_bytes},
    {"payload_sent_over_zc_limit_bytes", &data_path::payload_sent_over_zc_limit_bytes},
    {"payload_copied_bytes", &data_path::payload_copied_bytes},
    {"direct_io_bytes", &data_path::direct_io_bytes},
    {"direct_io_unaligned", &data_path::direct_io_unaligned},
    {"tcp_recv_provided_buffers", &data_path::tcp_recv_provided_buffers},
    {"tcp_recv_provided_bytes", &data_path::tcp_recv_provided_bytes},
    {"tcp_recv_lent_messages", &data_path::tcp_recv_lent_messages},
    {"tcp_recv_assembled_bytes", &data_path::tcp_recv_assembled_bytes},
    {"tcp_recv_direct_bytes", &data_path::tcp_recv_direct_bytes},
    {"tcp_recv_no_buffers", &data_path::tcp_recv_no_buffers},
    {"rdma_transfer_registrations", &data_path::rdma_transfer_registrations},
    {"smb2_messages_on_worker", &data_path::smb2_messages_on_worker},
    {"smb2_messages_to_request_threads", &data_path::smb2_messages_to_request_threads},
    {"smb2_read_file_reads", &data_path::smb2_read_file_reads},
    {"worker_file_reads", &data_path::worker_file_reads},
    {"worker_file_writes", &data_path::worker_file_writes},
    {"worker_file_syncs", &data_path::worker_file_syncs},
    {"smb2_completions_to_request_threads", &data_path::smb2_completions_to_request_threads},
    {"server_copy_bytes", &data_path::server_copy_bytes},
    {"oplock_breaks_sent", &data_path::oplock_breaks_sent},
    {"lease_breaks_sent", &data_path::lease_breaks_sent},
    {"break_acknowledgements", &data_path::break_acknowledgements},
};
// Calls f(name, a's counter, b's counter) for each per-command counter of two blocks.
template <typename F> void for_each_command_counter(data_path& a, const data_path& b, F f) {
    for (size_t cmd = 0; cmd < smb2_command_count; ++cmd) {
        auto& x = a.smb2_commands[cmd];
        const auto& y = b.smb2_commands[cmd];
        std::string prefix = "smb2_command:" + std::to_string(cmd) + ":";
        for (size_t k = 0; k < smb2_command_counters::status_classes; ++k) {
            f(prefix + "responses_" + std::to_string(k), x.responses[k], y.responses[k]);
        }
        f(prefix + "request_bytes", x.request_bytes, y.request_bytes);
        f(prefix + "response_bytes", x.response_bytes, y.response_bytes);
    }
}

// Every live thread's block, and what ended threads counted. The mutex is taken when a
// thread counts for the first time, when it ends, and by readers: never per message.
struct block_registry {
    std::mutex mutex;
    std::vector<data_path*> live;
    data_path retired; // written only under the mutex
};

block_registry& registry() {
    // Never destroyed: threads may end (and retire their blocks) during static
    // destruction at exit.
    static auto* r = new block_registry;
    return *r;
}

// Folds the thread's block into the retired sum when the thread ends.
struct block_retirement {
    ~block_retirement() {
        auto& r = registry();
        std::lock_guard lock(r.mutex);
        for (const auto& n : named) {
            (r.retired.*n.field).add((tls_block->*n.field).load());
        }
        for_each_command_counter(
            r.retired, *tls_block,
            [](const std::string&, counter& to, const counter& from) { to.add(from.load()); });
        std::erase(r.live, tls_block);
        delete tls_block;
        // A count after this (another thread-local's destructor) registers a new block,
        // which then stays: nothing is lost.
        tls_block = nullptr;
    }
};

} // namespace

namespace detail {

data_path& register_block() {
    auto* block = new data_path; // its own cache lines (alignas), not in the TLS area
    {
        auto& r = registry();
        std::lock_guard lock(r.mutex);
        r.live.push_back(block);
    }
    tls_block = block;
    thread_local block_retirement at_exit; // constructed on the first count
    (void)at_exit;
    return *block;
}

} // namespace detail

namespace {

uint64_t sum_locked(block_registry& r, counter data_path::*field) {
    uint64_t sum = (r.retired.*field).load();
    for (const data_path* b : r.live) {
        sum += (b->*field).load();
    }
    return sum;
}

} // namespace

void published_counters::set(const std::string& name, uint64_t value) {
    auto mine = std::find_if(_last.begin(), _last.end(), [&](auto& e) { return e.first == name; });
    bool first = mine == _last.end(); // listed from the first publication, even at 0
    if (first) {
        mine = _last.insert(_last.end(), {name, 0});
    }
    if (!first && mine->second == value) {
        return;
    }
    auto& p = published();
    std::lock_guard lock(p.mutex);
    auto sum =
        std::find_if(p.values.begin(), p.values.end(), [&](auto& e) { return e.first == name; });
    if (sum == p.values.end()) {
        sum = p.values.insert(p.values.end(), {name, 0});
    }
    sum->second += value - mine->second; // unsigned wrap-around makes a decrease work too
    mine->second = value;
}

void set_worker(uint32_t index) {
    data_path& block = data();
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    block.worker = index;
}

std::vector<worker_value> per_worker_snapshot() {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    std::vector<uint32_t> workers;
    for (const data_path* b : r.live) {
        if (b->worker != data_path::not_a_worker) {
            workers.push_back(b->worker);
        }
    }
    std::sort(workers.begin(), workers.end());
    workers.erase(std::unique(workers.begin(), workers.end()), workers.end());
    workers.push_back(data_path::not_a_worker);
    std::vector<worker_value> out;
    for (uint32_t w : workers) {
        // Ended threads count as "other": a worker's series must only ever rise.
        data_path sum;
        const data_path none;
        auto fold = [&](const data_path& b) {
            for (const auto& n : named) {
                (sum.*n.field).add((b.*n.field).load());
            }
            for_each_command_counter(
                sum, b,
                [](const std::string&, counter& to, const counter& from) { to.add(from.load()); });
        };
        if (w == data_path::not_a_worker) {
            fold(r.retired);
        }
        for (const data_path* b : r.live) {
            if (b->worker == w) {
                fold(*b);
            }
        }
        for (const auto& n : named) {
            out.push_back({n.name, w, (sum.*n.field).load()});
        }
        for_each_command_counter(sum, none,
                                 [&](const std::string& name, counter& c, const counter&) {
                                     out.push_back({name, w, c.load()});
                                 });
    }
    return out;
}

uint64_t total(counter data_path::*field) {
    auto& r = registry();
    std::lock_guard lock(r.mutex);
    return sum_locked(r, field);
}

std::vector<std::pair<std::string, uint64_t>> snapshot() {
    std::vector<std::pair<std::string, uint64_t>> out;
    {
        auto& r = registry();
        std::lock_guard lock(r.mutex);
        for (const auto& n : named) {
            out.emplace_back(n.name, sum_locked(r, n.field));
        }
    }
    if (auto* pool = buffer_pool::global()) {
        auto s = pool->stats();
        out.emplace_back("pool_bytes", s.region_bytes);
        out.emplace_back("pool_hugepages", s.hugepages ? 1 : 0);
        out.emplace_back("pool_gets", s.gets);
        out.emplace_back("pool_in_use", s.in_use);
        out.emplace_back("pool_heap_fallbacks", s.heap_fallbacks);
        out.emplace_back("pool_reserved", s.reserved);
    }
    auto& p = published();
    std::lock_guard lock(p.mutex);
    out.insert(out.end(), p.values.begin(), p.values.end());
    return out;
}

} // namespace smbx::counters
