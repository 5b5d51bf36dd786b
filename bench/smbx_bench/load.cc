#include "bench/smbx_bench/load.hh"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include <poll.h>
#include <sys/resource.h>

#include "bench/smbx_bench/connection_load.hh"

namespace smbx::bench {

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
    case rw_mode::create:
        break; // connection_load picks the file
    }
    return {0, false};
}

namespace {

// The timed phase of one thread's connections.
void timed_phase(const std::vector<connection_load*>& conns) {
    std::vector<connection_load*> active;
    for (auto* c : conns) {
        if (c->pump()) {
            active.push_back(c);
        }
    }
    std::vector<pollfd> fds;
    while (!active.empty()) {
        if (active.size() == 1) {
            if (!active[0]->on_response()) {
                active.clear();
            }
            continue;
        }
        fds.clear();
        bool at_hand = false; // SMB Direct buffers responses in user space: ask first
        for (auto* c : active) {
            at_hand = c->response_ready() || at_hand;
            fds.push_back({c->wait_fd(), POLLIN, 0});
        }
        int r = at_hand ? 0 : ::poll(fds.data(), fds.size(), 1000);
        if (at_hand) {
            for (size_t i = active.size(); i-- > 0;) {
                if (active[i]->response_ready() && !active[i]->on_response()) {
                    active.erase(active.begin() + ptrdiff_t(i));
                }
            }
            continue;
        }
        if (r < 0 && errno != EINTR) {
            throw smb_error(std::string("poll: ") + strerror(errno));
        }
        for (size_t i = fds.size(); r > 0 && i-- > 0;) {
            // An error or hang-up shows as a failed receive with its reason.
            if (fds[i].revents && !active[i]->on_response()) {
                active.erase(active.begin() + ptrdiff_t(i));
            }
        }
    }
}

// One thread's connections: set up one after the other, then driven together, a
// response at a time from whichever socket poll() reports readable (a thread with a
// single connection just blocks on it).
void drive(const std::vector<connection_load*>& conns, shared_state& st) {
    try {
        for (auto* c : conns) {
            c->setup();
            st.ready.fetch_add(1);
        }
        while (!st.go.load() && !st.abort.load()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (!st.abort.load()) {
            timed_phase(conns);
            {
                std::lock_guard lk(st.mu);
                st.timed_end = std::max(st.timed_end, clock_type::now());
            }
            for (auto* c : conns) {
                c->finish();
            }
        }
    } catch (const std::exception& e) {
        st.fail(e.what());
    }
    for (auto* c : conns) {
        c->merge_into_result();
    }
}

double seconds_of(const timeval& tv) {
    return double(tv.tv_sec) + double(tv.tv_usec) / 1e6;
}

} // namespace

load_result run_load(const options& o,
                     const std::function<void(const live_counters&, double)>& tick) {
    shared_state st;
    uint32_t n = o.connections;
    uint32_t nthreads = std::min(o.threads, n);
    std::vector<std::unique_ptr<connection_load>> loads;
    std::vector<std::vector<connection_load*>> per_thread(nthreads);
    for (uint32_t i = 0; i < n; ++i) {
        loads.push_back(std::make_unique<connection_load>(o, st, i));
        per_thread[i % nthreads].push_back(loads.back().get());
    }
    std::vector<std::thread> threads;
    for (auto& conns : per_thread) {
        threads.emplace_back([&conns, &st] { drive(conns, st); });
    }
    while (st.ready.load() < n && !st.abort.load()) {
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
    s.smb_direct = o.client.transport == transport_kind::rdma;
    s.cpu_user = seconds_of(ru1.ru_utime) - seconds_of(ru0.ru_utime);
    s.cpu_system = seconds_of(ru1.ru_stime) - seconds_of(ru0.ru_stime);
    return r;
}

} // namespace smbx::bench
