// Round trip over the control channel's shared-memory rings between two processes: a
// forked child answers every message on the other ring, as smbx-control answers the
// data plane. Busy-polled on both sides, so this is the ring's own cost, not the
// eventfd wake-up's.
#include <benchmark/benchmark.h>
#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "common/control_channel.hh"

using namespace smbx;

namespace {

void ring_round_trip(benchmark::State& state) {
    control_channel channel;
    if (!channel.create()) {
        state.SkipWithError("memfd");
        return;
    }
    pid_t child = fork();
    if (child == 0) {
        auto in = channel.to_control();
        auto out = channel.to_dataplane();
        while (true) {
            if (auto m = in.pop()) {
                if (m->empty()) {
                    _exit(0);
                }
                while (!out.push(*m)) {
                }
            }
        }
    }
    auto out = channel.to_control();
    auto in = channel.to_dataplane();
    bytes msg(static_cast<size_t>(state.range(0)), 0x5A);
    for (auto _ : state) {
        while (!out.push(msg)) {
        }
        std::optional<bytes> reply;
        while (!(reply = in.pop())) {
        }
        benchmark::DoNotOptimize(reply);
    }
    while (!out.push(bytes{})) {
    }
    waitpid(child, nullptr, 0);
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(ring_round_trip)->Arg(64)->Arg(4096)->UseRealTime();

} // namespace
