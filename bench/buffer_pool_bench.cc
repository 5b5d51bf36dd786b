// The buffer pool's get/put, for the sizes the data plane asks for (a request, a 64 KiB
// and a 1 MiB READ payload), against malloc/free of the same size: what a buffer costs
// a request. Threads > 1 show the cost of sharing a class's free list.
#include <benchmark/benchmark.h>
#include <cstdlib>

#include "dataplane/runtime/buffer_pool.hh"

using namespace smbx;

namespace {

buffer_pool& shared_pool() {
    static buffer_pool pool(256 * 1024 * 1024);
    return pool;
}

void pool_get_put(benchmark::State& state) {
    auto& pool = shared_pool();
    size_t n = size_t(state.range(0));
    for (auto _ : state) {
        pool_buffer b = pool.get(n);
        benchmark::DoNotOptimize(b.data());
    }
    state.counters["heap_fallbacks"] = double(pool.stats().heap_fallbacks);
}
BENCHMARK(pool_get_put)->Arg(512)->Arg(64 * 1024)->Arg(1024 * 1024)->ThreadRange(1, 2);

void malloc_free(benchmark::State& state) {
    size_t n = size_t(state.range(0));
    for (auto _ : state) {
        void* p = std::malloc(n);
        benchmark::DoNotOptimize(p);
        std::free(p);
    }
}
BENCHMARK(malloc_free)->Arg(512)->Arg(64 * 1024)->Arg(1024 * 1024)->ThreadRange(1, 2);

} // namespace
