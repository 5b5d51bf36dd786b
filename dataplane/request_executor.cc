#include "dataplane/request_executor.hh"

#include <cstdio>

#include "dataplane/runtime/worker.hh"

namespace smbx {

void request_executor::strand::post(std::function<void()> fn) {
    bool schedule_now = false;
    {
        std::lock_guard lock(_mutex);
        _queue.push_back(std::move(fn));
        if (!_scheduled) {
            _scheduled = true;
            schedule_now = true;
        }
    }
    if (schedule_now) {
        _executor.schedule(shared_from_this()); // queued strands stay alive
    }
}

request_executor::request_executor(unsigned threads, int cpu) : _cpu(cpu) {
    for (unsigned i = 0; i < threads; ++i) {
        _threads.emplace_back([this, i] { run_thread(i); });
    }
}

request_executor::~request_executor() {
    stop();
}

void request_executor::stop() {
    {
        std::lock_guard lock(_mutex);
        _stopping = true;
    }
    _cv.notify_all();
    for (auto& t : _threads) {
        if (t.joinable()) {
            t.join();
        }
    }
    _threads.clear();
    // Work still queued is dropped, and freed here: a task often owns its strand's
    // owner (a connection's teardown holds the client, which holds the strand), a
    // cycle nothing else would break.
    std::deque<std::shared_ptr<strand>> ready;
    {
        std::lock_guard lock(_mutex);
        ready.swap(_ready);
    }
    for (auto& s : ready) {
        std::deque<std::function<void()>> dropped;
        {
            std::lock_guard lock(s->_mutex);
            dropped.swap(s->_queue);
            s->_scheduled = false;
        }
        // `dropped` is destroyed here, outside the lock; `ready` keeps `s` alive meanwhile.
    }
}

void request_executor::schedule(std::shared_ptr<strand> s) {
    {
        std::lock_guard lock(_mutex);
        _ready.push_back(std::move(s));
    }
    _cv.notify_one();
}

void request_executor::run_thread(unsigned index) {
    char name[16];
    snprintf(name, sizeof name, "smbx-req-%d.%u", _cpu, index);
    worker::name_and_pin_this_thread(name, _cpu);
    while (true) {
        std::shared_ptr<strand> s;
        {
            std::unique_lock lock(_mutex);
            _cv.wait(lock, [this] { return _stopping || !_ready.empty(); });
            if (_stopping) {
                return;
            }
            s = std::move(_ready.front());
            _ready.pop_front();
        }
        run_strand(s);
    }
}

void request_executor::run_strand(const std::shared_ptr<strand>& s) {
    // Run a bounded batch, then yield to other strands so one busy connection
    // cannot starve the rest.
    for (int i = 0; i < 16; ++i) {
        std::function<void()> fn;
        {
            std::lock_guard lock(s->_mutex);
            if (s->_queue.empty()) {
                s->_scheduled = false;
                return;
            }
            fn = std::move(s->_queue.front());
            s->_queue.pop_front();
        }
        fn();
    }
    schedule(s);
}

} // namespace smbx
