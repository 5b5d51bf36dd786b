// smbx-bench: an SMB3 load generator (see bench/README.md).
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <malloc.h>
#include <unistd.h>

#include "bench/smbx_bench/load.hh"
#include "bench/smbx_bench/options.hh"
#include "bench/smbx_bench/sweep.hh"
#include "control/auth/ntlm_crypto.hh"

using namespace smbx::bench;

namespace {

// SMBX_BENCH_PASSWORD, else the first line of standard input (prompting on a terminal).
std::string read_password() {
    if (const char* p = getenv("SMBX_BENCH_PASSWORD")) {
        return p;
    }
    if (isatty(STDIN_FILENO)) {
        fprintf(stderr, "Password: ");
    }
    std::string line;
    std::getline(std::cin, line);
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    return line;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    for (const auto& a : args) {
        if (a == "-h" || a == "--help") {
            fputs(usage_text, stdout);
            return 0;
        }
    }
    options o;
    try {
        o = parse_options(args);
    } catch (const std::exception& e) {
        fprintf(stderr, "smbx-bench: %s\n%s", e.what(), usage_text);
        return 2;
    }
    o.client.password = read_password();
    // Every response (up to 8 MiB, decrypted into a second buffer when encrypted) is
    // allocated and freed at line rate: kept in the heap rather than mmap'ed and unmapped
    // each time, the client does not spend its CPU on page faults.
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    smbx::auth::load_providers();

    bool live = isatty(STDERR_FILENO);
    auto tick = [&](const live_counters& c, double secs) {
        if (!live) {
            return;
        }
        static uint64_t last_bytes = 0, last_ops = 0;
        uint64_t b = c.bytes.load(), n = c.ops.load();
        if (b < last_bytes || n < last_ops) { // a sweep's next run starts from zero
            last_bytes = last_ops = 0;
        }
        fprintf(stderr, "\r[%5.1fs] %8.1f MB/s %9llu IOPS %12llu ops   ", secs,
                double(b - last_bytes) / 1e6, (unsigned long long)(n - last_ops),
                (unsigned long long)n);
        last_bytes = b;
        last_ops = n;
    };
    if (o.sweeping()) {
        int rc = run_sweep(o, tick);
        if (live) {
            fputs("\r\033[K", stderr);
        }
        return rc;
    }
    load_result r = run_load(o, tick);
    if (live) {
        fputs("\r\033[K", stderr);
    }
    if (!r.error.empty()) {
        fprintf(stderr, "smbx-bench: %s\n", r.error.c_str());
    }
    for (const auto& m : r.mismatch_notes) {
        fprintf(stderr, "smbx-bench: verify: %s\n", m.c_str());
    }
    if (!r.error.empty()) {
        // A run that failed before any I/O has nothing to summarise.
        if (r.summary.ops) {
            fputs((o.json ? format_json(r.summary) : format_human(r.summary)).c_str(), stdout);
        }
        return 1;
    }
    fputs((o.json ? format_json(r.summary) : format_human(r.summary)).c_str(), stdout);
    if (r.summary.mismatches || r.summary.errors) {
        return 3;
    }
    return 0;
}
