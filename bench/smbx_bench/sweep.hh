// --sweep: one timed run per (block size, queue depth), a CSV row each, and a gnuplot
// script (and, when gnuplot is installed, its SVG) of throughput and p99 latency.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "bench/smbx_bench/load.hh"
#include "bench/smbx_bench/options.hh"
#include "bench/smbx_bench/stats.hh"

namespace smbx::bench {

// The runs in order: block sizes outer, queue depths inner. A list not given is the
// single --bs or --iodepth.
std::vector<std::pair<uint32_t, uint32_t>> sweep_grid(const options& o);

// 4096 -> "4k", 1048576 -> "1m", 6144 -> "6k".
std::string size_label(uint32_t bytes);

std::string csv_header();
std::string csv_row(const run_summary& s, uint32_t threads);

// A self-contained gnuplot script (the data inline) drawing MB/s and p99 latency into
// `svg_path`: against queue depth, a line per block size; or, when only the block size
// varies, against block size.
std::string gnuplot_script(const std::vector<run_summary>& points, const std::string& title,
                           const std::string& svg_path);

// Runs the sweep, printing each run's summary; writes PREFIX.csv, PREFIX.gp and (if
// gnuplot runs) PREFIX.svg. Returns the exit code (0, 1 fatal, 3 mismatches or errors).
int run_sweep(const options& o, const std::function<void(const live_counters&, double)>& tick);

} // namespace smbx::bench
