// Arbitrary frames through segment_owner (net/flow_steering.hh), as each DPDK worker
// runs it on every frame it receives before its stack sees it. Input: one frame; the
// first byte also picks the worker count (1-8). Invariants: no crash or sanitizer
// report, an owner below the worker count, and the same answer twice.
#include <cstdint>
#include <cstdlib>

#include "dataplane/net/flow_steering.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    size_t workers = size ? size_t(data[0] % 8) + 1 : 1;
    std::span<const uint8_t> frame(data, size);
    auto owner = smbx::net::segment_owner(frame, workers);
    if (owner && *owner >= workers) {
        std::abort();
    }
    if (smbx::net::segment_owner(frame, workers) != owner) {
        std::abort();
    }
    return 0;
}
