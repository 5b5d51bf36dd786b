// Latency histogram with bounded relative error (log2 buckets, each split into 64 linear
// sub-buckets: under 1.6% error), mergeable across threads, and the run's summary.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace smbx::bench {

class latency_histogram {
public:
    void record(uint64_t ns);
    void merge(const latency_histogram& o);

    uint64_t count() const { return _count; }
    uint64_t min() const { return _count ? _min : 0; }
    uint64_t max() const { return _max; }
    double mean() const { return _count ? double(_sum) / double(_count) : 0; }
    // The smallest recorded value v such that at least p percent of values are <= v
    // (to the histogram's resolution, and never beyond max()).
    uint64_t percentile(double p) const;

    static size_t bucket_of(uint64_t ns);
    static uint64_t bucket_upper(size_t bucket);

private:
    static constexpr size_t sub_bits = 6;
    static constexpr size_t sub_count = size_t(1) << sub_bits;
    static constexpr size_t bucket_count = (64 - sub_bits + 1) * sub_count;
    std::array<uint64_t, bucket_count> _buckets{};
    uint64_t _count = 0;
    uint64_t _sum = 0;
    uint64_t _min = UINT64_MAX;
    uint64_t _max = 0;
};

struct run_summary {
    std::string rw;
    uint32_t block_size = 0;
    uint32_t iodepth = 0;
    uint32_t connections = 0;
    std::string dialect;
    bool signing = false;
    bool encryption = false;
    double seconds = 0;
    uint64_t ops = 0;
    uint64_t bytes = 0;
    uint64_t read_ops = 0;
    uint64_t write_ops = 0;
    uint64_t flushes = 0; // --flush-every: FLUSHes answered with success (not in ops)
    uint64_t errors = 0;
    uint64_t mismatches = 0;
    uint64_t verified_bytes = 0;
    bool smb_direct = false; // --transport rdma
    uint64_t rdma_ios = 0;   // READs/WRITEs whose data moved by RDMA (all phases)
    double cpu_user = 0;
    double cpu_system = 0;
    latency_histogram latency;
};

std::string format_human(const run_summary& s);
std::string format_json(const run_summary& s);

} // namespace smbx::bench
