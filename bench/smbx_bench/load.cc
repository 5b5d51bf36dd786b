#include "bench/smbx_bench/load.hh"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <sys/resource.h>

#include "bench/smbx_bench/pattern.hh"
#include "common/ntstatus.hh"

namespace smbx::bench {

using clock_type = std::chrono::steady_clock;

op_generator::op_generator(rw_mode mode, uint64_t file_size, uint32_t block_size, uint64_t seed)
    : _mode(mode), _blocks(std::max<uint64_t>(1, file_size / block_size)), _block_size(block_size),
      _state(seed | 1) {}

uint64_t op_generator::random() {
    // xorshift64*
    _state ^= _state >> 12;
    _state ^= _state << 25;
    _state ^= _state >> 27;
    return _state * 0x2545F4914F6CDD1Dull;
}

op_generator::op op_generator::next() {
    switch (_mode) {
    case rw_mode::read:
    case rw_mode::write: {
        uint64_t b = _next_block;
        _next_block = (_next_block + 1) % _blocks;
        return {b * _block_size, _mode == rw_mode::write};
    }
    case rw_mode::randread:
    case rw_mode::randwrite:
        return {(random() % _blocks) * _block_size, _mode == rw_mode::randwrite};
    case rw_mode::randrw: {
        uint64_t r = random();
        return {((r >> 1) % _blocks) * _block_size, bool(r & 1)};
    }
    }
    return {0, false};
}

namespace {

uint64_t ns_since(clock_type::time_point t) {
    return uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t).count());
}

struct shared_state {
    std::atomic<uint32_t> ready{0};
    std::atomic<bool> go{false};
    std::atomic<bool> abort{false};
    clock_type::time_point deadline;
    live_counters live;
    std::mutex mu;
    load_result result;
    std::string dialect;
    bool signing = false;
    bool encryption = false;
    clock_type::time_point timed_end{};
};

struct inflight {
    uint64_t offset;
    bool is_write;
    clock_type::time_point start;
};

class connection_load {
public:
    connection_load(const options& o, shared_state& st, uint32_t index)
        : _o(o), _st(st), _index(index),
          _gen(o.rw, o.size, o.block_size, o.seed * 0x9E3779B97F4A7C15ull + index + 1),
          _written(o.verify ? _gen.blocks() : 0, false) {}

    void run() {
        try {
            setup();
            _st.ready.fetch_add(1);
            while (!_st.go.load() && !_st.abort.load()) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
            if (!_st.abort.load()) {
                timed_phase();
                {
                    std::lock_guard lk(_st.mu);
                    _st.timed_end = std::max(_st.timed_end, clock_type::now());
                }
                if (_o.verify) {
                    read_back();
                }
                _client.close(_fid);
            }
        } catch (const std::exception& e) {
            std::lock_guard lk(_st.mu);
            if (_st.result.error.empty()) {
                _st.result.error = e.what();
            }
            _st.abort.store(true);
            _st.ready.fetch_add(1);
        }
        std::lock_guard lk(_st.mu);
        auto& s = _st.result.summary;
        s.latency.merge(_lat);
        s.ops += _ops;
        s.read_ops += _read_ops;
        s.write_ops += _write_ops;
        s.bytes += _bytes;
        s.errors += _errors;
        s.mismatches += _mismatches;
        s.verified_bytes += _verified;
    }

private:
    bool needs_fill() const {
        return _o.fill &&
               (_o.rw == rw_mode::read || _o.rw == rw_mode::randread || _o.rw == rw_mode::randrw);
    }

    void setup() {
        _client.connect(_o.client);
        if (_o.block_size > _client.max_read() || _o.block_size > _client.max_write()) {
            throw smb_error("--bs " + std::to_string(_o.block_size) +
                            " exceeds the server's MaxReadSize/MaxWriteSize (" +
                            std::to_string(std::min(_client.max_read(), _client.max_write())) +
                            ")");
        }
        if (_index == 0) {
            std::lock_guard lk(_st.mu);
            uint16_t d = _client.dialect();
            char buf[16];
            if (d & 0xF) {
                snprintf(buf, sizeof(buf), "%x.%x.%x", d >> 8, (d >> 4) & 0xF, d & 0xF);
            } else {
                snprintf(buf, sizeof(buf), "%x.%x", d >> 8, (d >> 4) & 0xF);
            }
            _st.dialect = buf;
            _st.signing = _client.signing() && !_client.encrypting();
            _st.encryption = _client.encrypting();
        }
        _fid = _client.open(_o.file_prefix + "." + std::to_string(_index) + ".dat");
        _buf.resize(_o.block_size);
        fill_pattern(_buf, 0, _o.seed);
        if (needs_fill()) {
            // Untimed: the whole file gets the pattern, so every read can be checked.
            uint64_t blocks = _gen.blocks(), next = 0, done = 0;
            while (done < blocks) {
                while (next < blocks && _pending.size() < _o.iodepth &&
                       _client.can_send(_o.block_size)) {
                    uint64_t off = next++ * _o.block_size;
                    fill_pattern(_buf, off, _o.seed);
                    _pending[_client.send_write(_fid, off, _buf)] = {off, true, clock_type::now()};
                }
                response r = _client.receive();
                _pending.erase(r.message_id);
                if (r.status != status::success || r.count != _o.block_size) {
                    throw smb_error("filling the file failed at a WRITE", r.status);
                }
                ++done;
            }
        }
    }

    bool issue_more(uint64_t& issued_bytes) {
        if (clock_type::now() >= _st.deadline || _st.abort.load() || issued_bytes >= _o.size) {
            return false;
        }
        while (_pending.size() < _o.iodepth && issued_bytes < _o.size &&
               _client.can_send(_o.block_size)) {
            auto op = _gen.next();
            uint64_t id;
            if (op.is_write) {
                if (_o.verify) {
                    fill_pattern(_buf, op.offset, _o.seed);
                    _written[op.offset / _o.block_size] = true;
                }
                id = _client.send_write(_fid, op.offset, _buf);
            } else {
                id = _client.send_read(_fid, op.offset, _o.block_size);
            }
            _pending[id] = {op.offset, op.is_write, clock_type::now()};
            issued_bytes += _o.block_size;
        }
        return true;
    }

    void complete(const response& r, bool timed) {
        auto it = _pending.find(r.message_id);
        if (it == _pending.end()) {
            throw smb_error("a response with an unknown MessageId " + std::to_string(r.message_id));
        }
        inflight f = it->second;
        _pending.erase(it);
        if (timed) {
            _lat.record(ns_since(f.start));
        }
        if (r.status != status::success ||
            (f.is_write ? r.count : r.data.size()) != _o.block_size) {
            ++_errors;
            return;
        }
        if (timed) {
            ++_ops;
            ++(f.is_write ? _write_ops : _read_ops);
            _bytes += _o.block_size;
            _st.live.ops.fetch_add(1, std::memory_order_relaxed);
            _st.live.bytes.fetch_add(_o.block_size, std::memory_order_relaxed);
        }
        if (!f.is_write && _o.verify) {
            _verified += r.data.size();
            if (auto bad = find_mismatch(r.data, f.offset, _o.seed)) {
                ++_mismatches;
                std::lock_guard lk(_st.mu);
                if (_st.result.mismatch_notes.size() < 10) {
                    _st.result.mismatch_notes.push_back(
                        "mismatch at offset " + std::to_string(*bad) + " of " + _o.file_prefix +
                        "." + std::to_string(_index) + ".dat (block at " +
                        std::to_string(f.offset) + ")");
                }
            }
        }
    }

    void timed_phase() {
        uint64_t issued = 0;
        for (;;) {
            bool more = issue_more(issued);
            if (_pending.empty()) {
                if (!more) {
                    break;
                }
                if (!_client.can_send(_o.block_size)) {
                    throw smb_error("the server granted too few credits for --bs");
                }
                continue;
            }
            complete(_client.receive(), true);
        }
    }

    // Reads back every block this connection wrote and checks it (--verify).
    void read_back() {
        uint64_t b = 0, blocks = _written.size();
        for (;;) {
            while (b < blocks && _pending.size() < _o.iodepth && _client.can_send(_o.block_size)) {
                if (_written[b]) {
                    uint64_t off = b * _o.block_size;
                    _pending[_client.send_read(_fid, off, _o.block_size)] = {off, false,
                                                                             clock_type::now()};
                }
                ++b;
            }
            if (_pending.empty()) {
                if (b >= blocks) {
                    break;
                }
                continue;
            }
            complete(_client.receive(), false);
        }
    }

    const options& _o;
    shared_state& _st;
    uint32_t _index;
    smb2_client _client;
    file_id _fid{};
    op_generator _gen;
    std::vector<bool> _written;
    bytes _buf;
    std::unordered_map<uint64_t, inflight> _pending;
    latency_histogram _lat;
    uint64_t _ops = 0, _read_ops = 0, _write_ops = 0, _bytes = 0, _errors = 0;
    uint64_t _mismatches = 0, _verified = 0;
};

double seconds_of(const timeval& tv) {
    return double(tv.tv_sec) + double(tv.tv_usec) / 1e6;
}

} // namespace

load_result run_load(const options& o,
                     const std::function<void(const live_counters&, double)>& tick) {
    shared_state st;
    uint32_t n = o.threads * o.connections;
    std::vector<std::unique_ptr<connection_load>> loads;
    std::vector<std::thread> threads;
    for (uint32_t i = 0; i < n; ++i) {
        loads.push_back(std::make_unique<connection_load>(o, st, i));
    }
    for (auto& l : loads) {
        threads.emplace_back([&l] { l->run(); });
    }
    while (st.ready.load() < n) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    rusage ru0{}, ru1{};
    getrusage(RUSAGE_SELF, &ru0);
    auto start = clock_type::now();
    st.deadline = start + std::chrono::duration_cast<clock_type::duration>(
                              std::chrono::duration<double>(o.duration));
    st.go.store(true);
    // Ticks until every connection has finished its timed phase.
    std::atomic<bool> finished{false};
    std::thread joiner([&] {
        for (auto& t : threads) {
            t.join();
        }
        finished.store(true);
    });
    auto next_tick = start + std::chrono::seconds(1);
    while (!finished.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (clock_type::now() >= next_tick && tick) {
            tick(st.live, std::chrono::duration<double>(clock_type::now() - start).count());
            next_tick += std::chrono::seconds(1);
        }
    }
    joiner.join();
    getrusage(RUSAGE_SELF, &ru1);
    load_result r = std::move(st.result);
    auto& s = r.summary;
    // The timed phase's length: until the last connection's last timed completion.
    auto end = st.timed_end > start ? st.timed_end : clock_type::now();
    s.seconds = std::chrono::duration<double>(end - start).count();
    s.rw = rw_name(o.rw);
    s.block_size = o.block_size;
    s.iodepth = o.iodepth;
    s.connections = n;
    s.dialect = st.dialect;
    s.signing = st.signing;
    s.encryption = st.encryption;
    s.cpu_user = seconds_of(ru1.ru_utime) - seconds_of(ru0.ru_utime);
    s.cpu_system = seconds_of(ru1.ru_stime) - seconds_of(ru0.ru_stime);
    return r;
}

} // namespace smbx::bench
