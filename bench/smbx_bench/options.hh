// smbx-bench's command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/smbx_bench/smb2_client.hh"

namespace smbx::bench {

enum class rw_mode { read, write, randread, randwrite, randrw };

struct options {
    client_config client;
    rw_mode rw = rw_mode::read;
    uint32_t block_size = 1 << 20;
    uint32_t iodepth = 1;
    uint32_t connections = 1; // per thread
    uint32_t threads = 1;
    uint64_t size = 64ull << 20; // per connection: its file's size and its bytes to move
    double duration = 10;        // seconds
    bool json = false;
    bool verify = false;
    bool fill = true; // read modes first write the pattern over the whole file
    uint64_t seed = 0x5eed;
    std::string file_prefix = "smbx-bench";
};

// "4k", "1m", "8M", "1g", "512" -> bytes; nullopt if malformed.
std::optional<uint64_t> parse_size(const std::string& s);
// "10", "10s", "500ms", "2m" -> seconds; nullopt if malformed.
std::optional<double> parse_duration(const std::string& s);
std::optional<rw_mode> parse_rw(const std::string& s);
const char* rw_name(rw_mode m);

// Parses argv (without the program name). Throws std::invalid_argument with a message.
// The password is not taken from here (see main.cc).
options parse_options(const std::vector<std::string>& args);

extern const char* usage_text;

} // namespace smbx::bench
