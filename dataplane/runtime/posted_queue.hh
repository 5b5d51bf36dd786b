// Work that any thread hands to one worker: the queue every transport backend uses for
// sends, closes and adopted connections (SPDK's spdk_thread_send_msg, Seastar's
// smp::submit_to). Producers take a short lock and wake the worker only if it sleeps;
// the worker takes the whole batch with one lock, and finds out there is none with one
// atomic load. A call made on the worker itself (a request it processed in place) runs
// directly: nothing is queued and nobody is woken.
//
// Items from one producer run in the order it posted them; items of different
// producers in the order they got the lock.
#pragma once

#include <atomic>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "dataplane/runtime/worker.hh"

namespace smbx {

template <typename Item> class posted_queue {
public:
    // `owner`: woken when an item is posted; null when the caller polls the queue itself.
    explicit posted_queue(worker* owner) : _owner(owner) {}
    posted_queue(const posted_queue&) = delete;
    posted_queue& operator=(const posted_queue&) = delete;

    // Any thread: queues `item` for the worker.
    void post(Item item) {
        {
            std::lock_guard lock(_mutex);
            _items.push_back(std::move(item));
            // Pairs with sleepy(): the worker either sees this before it sleeps, or
            // worker::wake() below sees it sleeping.
            _pending.store(true, std::memory_order_seq_cst);
        }
        if (_owner) {
            _owner->wake();
        }
    }

    // Any thread: runs `run(item)` now when called on the thread that drains this queue,
    // and queues the item otherwise.
    template <typename Run> void run_or_post(Item item, Run&& run) {
        if (on_worker()) {
            run(std::move(item));
        } else {
            post(std::move(item));
        }
    }

    // The worker, in its poll(): runs `run(item)` on everything posted so far, in order.
    // Returns how many items ran. Also makes this thread the one run_or_post() runs on.
    template <typename Run> unsigned drain(Run&& run) {
        _drain_thread.store(std::this_thread::get_id(), std::memory_order_relaxed);
        if (!_pending.load(std::memory_order_acquire)) {
            return 0;
        }
        {
            std::lock_guard lock(_mutex);
            _batch.swap(_items);
            _pending.store(false, std::memory_order_relaxed);
        }
        unsigned n = 0;
        for (auto& item : _batch) {
            run(item);
            ++n;
        }
        _batch.clear(); // keeps its capacity for the next batch
        return n;
    }

    // The worker, in before_sleep(): false when items wait (the worker must not sleep).
    bool empty_before_sleep() const { return !_pending.load(std::memory_order_seq_cst); }
    bool on_worker() const {
        return _drain_thread.load(std::memory_order_relaxed) == std::this_thread::get_id();
    }

    // The worker, at teardown: what was posted and never drained.
    std::vector<Item> take_all() {
        std::lock_guard lock(_mutex);
        _pending.store(false, std::memory_order_relaxed);
        return std::exchange(_items, {});
    }

private:
    worker* const _owner;
    std::mutex _mutex;
    std::vector<Item> _items;
    std::vector<Item> _batch; // the worker's: what drain() is running
    std::atomic<bool> _pending{false};
    std::atomic<std::thread::id> _drain_thread{};
};

} // namespace smbx
