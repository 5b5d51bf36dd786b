// smbx-bench's command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/smbx_bench/smb2_client.hh"

namespace smbx::bench {

// create: no data; each op is a CREATE and a CLOSE of one of --files files.
enum class rw_mode { read, write, randread, randwrite, randrw, create };

struct options {
    client_config client;
    rw_mode rw = rw_mode::read;
    uint32_t block_size = 1 << 20;
    uint32_t iodepth = 1;
    uint32_t connections = 1;      // in all, spread over the threads
    uint32_t threads = 1;          // at most `connections`; each drives its share of them
    uint64_t size = 64ull << 20;   // per connection: its file's size
    uint64_t io_size = 0;          // per connection: bytes to move at most; 0: `size`
    uint64_t max_ops = UINT64_MAX; // per connection: timed requests at most (--ops)
    double duration = 10;          // seconds
    bool json = false;
    bool verify = false;
    bool fill = true; // read modes first write the pattern over the whole file
    uint64_t seed = 0x5eed;
    uint32_t files = 1;       // --rw create: files each connection opens and closes in turn
    uint32_t flush_every = 0; // a FLUSH after every N WRITEs (--flush-every); 0: none
    std::string file_prefix = "smbx-bench";
    // --sweep: one run per (block size, queue depth); empty lists mean not sweeping.
    std::vector<uint32_t> sweep_bs;
    std::vector<uint32_t> sweep_qd;
    std::string sweep_out = "smbx-bench-sweep"; // PREFIX of PREFIX.csv/.gp/.svg
    bool sweeping() const { return !sweep_bs.empty() || !sweep_qd.empty(); }
};

// "4k", "1m", "8M", "1g", "512" -> bytes; nullopt if malformed.
std::optional<uint64_t> parse_size(const std::string& s);
// "10", "10s", "500ms", "2m" -> seconds; nullopt if malformed.
std::optional<double> parse_duration(const std::string& s);
// "4k", "64k" -> a block size: a multiple of 4k in 4k..8m; nullopt otherwise.
std::optional<uint32_t> parse_block_size(const std::string& s);
// "bs=4k,64k,1m" or "qd=1,8,32" into `o`'s sweep lists; false if it is not one of those.
// Throws std::invalid_argument for a malformed list.
bool parse_sweep_term(const std::string& term, options& o);
std::optional<rw_mode> parse_rw(const std::string& s);
const char* rw_name(rw_mode m);

// Parses argv (without the program name). Throws std::invalid_argument with a message.
// The password is not taken from here (see main.cc).
options parse_options(const std::vector<std::string>& args);

extern const char* usage_text;

} // namespace smbx::bench
