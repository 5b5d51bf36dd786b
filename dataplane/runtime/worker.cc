#include "dataplane/runtime/worker.hh"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"

namespace smbx {

namespace {

// How long an adaptive worker keeps polling after its last work before it sleeps: long
// enough to catch the next request of a client at queue depth 1 without a wake-up.
constexpr auto spin_window = std::chrono::microseconds(50);

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

} // namespace

worker::worker(unsigned index, int cpu, idle_policy policy)
    : _index(index), _cpu(cpu), _policy(policy) {
    _wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    _epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = _wake_fd;
    epoll_ctl(_epoll_fd, EPOLL_CTL_ADD, _wake_fd, &ev);
}

worker::~worker() {
    stop();
    join();
    ::close(_wake_fd);
    ::close(_epoll_fd);
}

std::vector<int> worker::allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE; ++c) {
            if (CPU_ISSET(c, &set)) {
                cpus.push_back(c);
            }
        }
    }
    return cpus;
}

void worker::start() {
    // Every worker has its file I/O ring; the request handlers it runs find it through
    // async_file_io::local().
    _file_io = std::make_unique<file_io_ring>(buffer_pool::global());
    _pollers.push_back(_file_io.get());
    for (poller* p : _pollers) {
        if (int fd = p->wait_fd(); fd >= 0) {
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.fd = fd;
            epoll_ctl(_epoll_fd, EPOLL_CTL_ADD, fd, &ev);
        }
    }
    _thread = std::thread([this] { run(); });
}

void worker::stop() {
    _stopping.store(true);
    uint64_t one = 1;
    ssize_t r = write(_wake_fd, &one, sizeof one);
    (void)r;
}

void worker::join() {
    if (_thread.joinable()) {
        _thread.join();
    }
}

void worker::wake() {
    // Pairs with sleep_until_work(): either the worker sees the queued work before it
    // sleeps, or we see it sleeping and kick the eventfd.
    if (_sleeping.load(std::memory_order_seq_cst)) {
        uint64_t one = 1;
        ssize_t r = write(_wake_fd, &one, sizeof one);
        (void)r;
    }
}

namespace {
thread_local worker* current_worker = nullptr;
} // namespace

worker* worker::current() {
    return current_worker;
}

void worker::name_and_pin_this_thread(const char* name, int cpu) {
    pthread_setname_np(pthread_self(), name); // at most 15 characters: cut otherwise
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (int e = pthread_setaffinity_np(pthread_self(), sizeof set, &set); e != 0) {
            LOG_WARN("%s: cannot pin to CPU %d: %s", name, cpu, strerror(e));
        }
    }
}

void worker::run() {
    current_worker = this;
    char name[16];
    snprintf(name, sizeof name, "smbx-worker-%u", _index);
    name_and_pin_this_thread(name, _cpu);
    async_file_io::set_local(_file_io.get());
    counters::set_worker(_index); // its counts carry worker="N" in the metrics
    LOG_INFO("worker %u running on CPU %d, idle policy %s", _index, _cpu,
             _policy == idle_policy::poll ? "poll" : "adaptive");
    // The clock is read only every so many idle polls: an idle poll is a few dozen
    // instructions, a clock read as many again.
    constexpr unsigned polls_per_clock_read = 32;
    unsigned idle_polls = 0;
    auto idle_since = std::chrono::steady_clock::now();
    while (!_stopping.load(std::memory_order_relaxed)) {
        unsigned work = 0;
        for (poller* p : _pollers) {
            work += p->poll();
        }
        if (work) {
            idle_polls = 0;
            continue;
        }
        cpu_relax();
        if (_policy == idle_policy::poll || ++idle_polls % polls_per_clock_read != 1) {
            continue;
        }
        // Adaptive shares its core: while it spins, whatever else is runnable there
        // (a client on the same machine, a request thread) goes first.
        // Doubled smb2.bench.echo on two cores shared with the client (67k -> 123k/s).
        sched_yield();
        auto now = std::chrono::steady_clock::now();
        if (idle_polls == 1) {
            idle_since = now; // the first idle poll after work
            continue;
        }
        if (now - idle_since >= spin_window) {
            sleep_until_work();
            idle_polls = 0;
        }
    }
}

void worker::sleep_until_work() {
    _sleeping.store(true, std::memory_order_seq_cst);
    bool sleep = true;
    size_t armed = 0;
    for (; armed < _pollers.size(); ++armed) {
        if (!_pollers[armed]->before_sleep()) {
            sleep = false;
            ++armed;
            break;
        }
    }
    if (sleep && !_stopping.load()) {
        _sleeps.fetch_add(1, std::memory_order_relaxed);
        epoll_event events[8];
        int n = epoll_wait(_epoll_fd, events, 8, 1000);
        for (int i = 0; i < n; ++i) {
            if (events[i].data.fd == _wake_fd) {
                uint64_t v;
                ssize_t r = read(_wake_fd, &v, sizeof v);
                (void)r;
            }
        }
    }
    _sleeping.store(false, std::memory_order_relaxed);
    for (size_t i = 0; i < armed; ++i) {
        _pollers[i]->after_sleep();
    }
}

} // namespace smbx
