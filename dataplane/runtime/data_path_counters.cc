#include "dataplane/runtime/data_path_counters.hh"

#include "dataplane/runtime/buffer_pool.hh"

namespace smbx::counters {

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
        {"payload_copied_bytes", get(d.payload_copied_bytes)},
        {"direct_io_bytes", get(d.direct_io_bytes)},
        {"direct_io_unaligned", get(d.direct_io_unaligned)},
    };
    if (auto* pool = buffer_pool::global()) {
        auto s = pool->stats();
        out.emplace_back("pool_bytes", s.region_bytes);
        out.emplace_back("pool_hugepages", s.hugepages ? 1 : 0);
        out.emplace_back("pool_gets", s.gets);
        out.emplace_back("pool_in_use", s.in_use);
        out.emplace_back("pool_heap_fallbacks", s.heap_fallbacks);
    }
    return out;
}

} // namespace smbx::counters
