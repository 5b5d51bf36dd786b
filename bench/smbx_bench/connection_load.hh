// One connection's share of the load: its own file, up to iodepth READ/WRITE requests in
// flight (matched to responses by MessageId), driven step by step by a thread that may
// drive several connections (load.cc).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/smbx_bench/load.hh"
#include "bench/smbx_bench/smb2_client.hh"

namespace smbx::bench {

using clock_type = std::chrono::steady_clock;

// What every thread of one run shares.
struct shared_state {
    std::atomic<uint32_t> ready{0}; // connections set up
    std::atomic<bool> go{false};
    std::atomic<bool> abort{false};
    clock_type::time_point deadline;
    live_counters live;
    std::mutex mu; // guards everything below
    load_result result;
    std::string dialect;
    bool signing = false;
    bool encryption = false;
    clock_type::time_point timed_end{};

    // Records the first fatal error and stops every thread.
    void fail(const std::string& what);
};

class connection_load {
public:
    connection_load(const options& o, shared_state& st, uint32_t index);

    // Connects, opens the file and, for read modes, fills it (blocking, untimed).
    void setup();
    // Issues what the window allows; false when this connection's timed phase is over
    // (nothing in flight and nothing more to issue).
    bool pump();
    // Takes one response off the socket (which must be readable or blocking is fine),
    // then pumps.
    bool on_response();
    // After the timed phase: reads back what was written (--verify) and closes the file.
    void finish();
    // Adds this connection's counters to the run's summary (under st.mu).
    void merge_into_result();

    // For load.cc's poll loop: a response is at hand now; else wait for wait_fd().
    bool response_ready() { return _client.response_ready(); }
    int wait_fd() const { return _client.wait_fd(); }

private:
    enum class request_kind : uint8_t { read, write, flush, create, close };
    struct inflight {
        uint64_t offset; // READ/WRITE: where; CREATE: which of --files
        request_kind kind;
        clock_type::time_point start;
    };

    bool needs_fill() const;
    void fill();
    bool issue_more();
    // --rw create: the CREATE of one op; its CLOSE goes when the CREATE is answered.
    uint64_t send_create();
    std::string create_name(uint64_t file) const;
    void complete(const response& r, bool timed);
    void read_back();

    const options& _o;
    shared_state& _st;
    uint32_t _index;
    smb2_client _client;
    file_id _fid{};
    bool _opened = false;
    op_generator _gen;
    std::vector<bool> _written;
    bytes _buf;
    std::unordered_map<uint64_t, inflight> _pending;
    latency_histogram _lat;
    uint64_t _issued_bytes = 0, _issued_ops = 0;
    uint64_t _ops = 0, _read_ops = 0, _write_ops = 0, _bytes = 0, _errors = 0;
    uint64_t _mismatches = 0, _verified = 0;
    uint64_t _writes_since_flush = 0, _flushes = 0;
    uint64_t _next_file = 0; // --rw create
};

} // namespace smbx::bench
