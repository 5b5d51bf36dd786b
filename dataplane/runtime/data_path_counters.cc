#include "dataplane/runtime/data_path_counters.hh"

#include <algorithm>
#include <mutex>

#include "dataplane/runtime/buffer_pool.hh"

namespace smbx::counters {

namespace {

struct published_sums {
    std::mutex mutex;
    std::vector<std::pair<std::string, uint64_t>> values; // in order of first publication
};

published_sums& published() {
    static published_sums p;
    return p;
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

data_path& data() {
    static data_path d;
    return d;
}

std::vector<std::pair<std::string, uint64_t>> snapshot() {
    auto& d = data();
    auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    std::vector<std::pair<std::string, uint64_t>> out{
        {"file_read_fixed_bytes", get(d.file_read_fixed_bytes)},
        {"file_read_unregistered_bytes", get(d.file_read_unregistered_bytes)},
        {"file_write_fixed_bytes", get(d.file_write_fixed_bytes)},
        {"file_write_unregistered_bytes", get(d.file_write_unregistered_bytes)},
        {"payload_sent_from_pool_bytes", get(d.payload_sent_from_pool_bytes)},
        {"payload_sent_zero_copy_bytes", get(d.payload_sent_zero_copy_bytes)},
        {"payload_sent_over_zc_limit_bytes", get(d.payload_sent_over_zc_limit_bytes)},
        {"payload_copied_bytes", get(d.payload_copied_bytes)},
        {"direct_io_bytes", get(d.direct_io_bytes)},
        {"direct_io_unaligned", get(d.direct_io_unaligned)},
        {"tcp_recv_provided_buffers", get(d.tcp_recv_provided_buffers)},
        {"tcp_recv_provided_bytes", get(d.tcp_recv_provided_bytes)},
        {"tcp_recv_lent_messages", get(d.tcp_recv_lent_messages)},
        {"tcp_recv_assembled_bytes", get(d.tcp_recv_assembled_bytes)},
        {"tcp_recv_direct_bytes", get(d.tcp_recv_direct_bytes)},
        {"tcp_recv_no_buffers", get(d.tcp_recv_no_buffers)},
        {"rdma_transfer_registrations", get(d.rdma_transfer_registrations)},
        {"smb2_messages_on_worker", get(d.smb2_messages_on_worker)},
        {"smb2_messages_to_request_threads", get(d.smb2_messages_to_request_threads)},
    };
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
