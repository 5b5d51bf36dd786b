// Threads that run SMB2 request processing off the network worker, so that file
// system calls and waits for the control plane never block a worker's polling loop.
// Work for one connection runs in order, one item at a time (a strand), which is
// what lets handlers use connection state without locks. The data plane gives each
// worker its own small executor, its threads pinned to the worker's core: a
// connection's requests stay on its core and its cache, and executors share nothing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace smbx {

class request_executor {
public:
    class strand : public std::enable_shared_from_this<strand> {
    public:
        explicit strand(request_executor& ex) : _executor(ex) {}
        // Runs `fn` after every item posted before it on this strand.
        void post(std::function<void()> fn);
        // Nothing queued or running: work done elsewhere now cannot overtake an item.
        bool idle() const { return !_scheduled.load(std::memory_order_acquire); }

    private:
        friend class request_executor;
        request_executor& _executor;
        std::mutex _mutex;
        std::deque<std::function<void()>> _queue;
        std::atomic<bool> _scheduled{false}; // written under _mutex
    };

    // `cpu` >= 0: the threads run on that core only.
    explicit request_executor(unsigned threads, int cpu = -1);
    ~request_executor();

    std::shared_ptr<strand> make_strand() { return std::make_shared<strand>(*this); }
    void stop();

private:
    void schedule(std::shared_ptr<strand> s);
    void run_thread(unsigned index);
    void run_strand(const std::shared_ptr<strand>& s);

    std::mutex _mutex;
    std::condition_variable _cv;
    std::deque<std::shared_ptr<strand>> _ready;
    bool _stopping = false;
    const int _cpu;
    std::vector<std::thread> _threads;
};

} // namespace smbx
