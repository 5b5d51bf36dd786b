// The load: --connections connections spread over --threads threads, each connection
// with its own file, keeping up to iodepth READ/WRITE requests in flight (matched to
// responses by MessageId) until the duration, the byte count or the op count runs out.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "bench/smbx_bench/options.hh"
#include "bench/smbx_bench/stats.hh"

namespace smbx::bench {

// Offsets a connection visits: sequential from 0 (wrapping at the file size) or uniform
// random blocks; randrw picks read or write at random, half each.
class op_generator {
public:
    op_generator(rw_mode mode, uint64_t file_size, uint32_t block_size, uint64_t seed);

    struct op {
        uint64_t offset;
        bool is_write;
    };
    op next();
    uint64_t blocks() const { return _blocks; }

private:
    uint64_t random();

    rw_mode _mode;
    uint64_t _blocks;
    uint32_t _block_size;
    uint64_t _next_block = 0;
    uint64_t _state;
};

struct live_counters {
    std::atomic<uint64_t> ops{0};
    std::atomic<uint64_t> bytes{0};
};

struct load_result {
    run_summary summary;
    std::string error;                       // the first fatal error, empty if none
    std::vector<std::string> mismatch_notes; // "offset N of file F", the first few
};

// Runs the whole load. `tick` is called about once a second from the calling thread
// while the timed phase runs (for the progress line).
load_result run_load(const options& o,
                     const std::function<void(const live_counters&, double)>& tick);

} // namespace smbx::bench
