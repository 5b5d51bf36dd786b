// The posted queue every transport backend hands work to its worker through: many
// producers, each one's items in its order; a call on the worker runs at once; a
// sleeping adaptive worker wakes for a post (before_sleep/after_sleep of worker.hh).
#include "dataplane/runtime/posted_queue.hh"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

using namespace smbx;
using namespace std::chrono_literals;

namespace {

struct item {
    int producer = 0;
    int seq = 0;
};

// A poller that drains a posted queue, as a transport's poll() does.
struct queue_poller : poller {
    posted_queue<item> queue;
    std::mutex seen_mutex;
    std::vector<item> seen;
    std::atomic<size_t> count{0};
    std::atomic<bool> stray_thread{false};
    std::thread::id worker_thread;

    explicit queue_poller(worker* owner) : queue(owner) {}
    unsigned poll() override {
        return queue.drain([this](item& i) { record(i); });
    }
    bool before_sleep() override { return queue.empty_before_sleep(); }
    void record(const item& i) {
        std::lock_guard lock(seen_mutex);
        if (worker_thread == std::thread::id{}) {
            worker_thread = std::this_thread::get_id();
        } else if (worker_thread != std::this_thread::get_id()) {
            stray_thread = true;
        }
        seen.push_back(i);
        ++count;
    }
};

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) {
        std::this_thread::sleep_for(1ms);
    }
    return pred();
}

} // namespace

TEST(posted_queue, many_producers_each_in_order_all_on_the_worker) {
    worker w(0, -1, idle_policy::adaptive);
    queue_poller p(&w);
    w.add_poller(&p);
    w.start();
    constexpr int producers = 8, per_producer = 5000;
    std::vector<std::thread> threads;
    for (int t = 0; t < producers; ++t) {
        threads.emplace_back([&p, t] {
            for (int i = 0; i < per_producer; ++i) {
                p.queue.post({t, i});
                if (i % 512 == 0) {
                    std::this_thread::sleep_for(100us); // let the worker doze off now and then
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    ASSERT_TRUE(wait_for([&] { return p.count.load() == size_t(producers * per_producer); }))
        << "got " << p.count.load();
    w.stop();
    w.join();
    EXPECT_FALSE(p.stray_thread.load()) << "every item runs on the worker's thread";
    std::map<int, int> next;
    for (const item& i : p.seen) {
        ASSERT_EQ(i.seq, next[i.producer]) << "producer " << i.producer << " out of order";
        ++next[i.producer];
    }
    for (int t = 0; t < producers; ++t) {
        EXPECT_EQ(next[t], per_producer);
    }
}

TEST(posted_queue, a_call_on_the_worker_runs_at_once_and_others_are_queued) {
    posted_queue<item> q(nullptr); // polled by this thread: nobody to wake
    std::vector<int> direct;
    auto run = [&direct](item i) { direct.push_back(i.seq); };

    // Before the first drain no thread is the worker: everything is queued.
    q.run_or_post({0, 1}, run);
    EXPECT_TRUE(direct.empty());
    std::vector<int> drained;
    EXPECT_EQ(q.drain([&](item& i) { drained.push_back(i.seq); }), 1u);
    EXPECT_EQ(drained, std::vector<int>{1});

    // This thread drained the queue, so it is the worker now: run directly, queue empty.
    EXPECT_TRUE(q.on_worker());
    q.run_or_post({0, 2}, run);
    EXPECT_EQ(direct, std::vector<int>{2});
    EXPECT_TRUE(q.empty_before_sleep());

    // Another thread: queued, and it runs at the next drain, not before.
    std::thread([&] {
        EXPECT_FALSE(q.on_worker());
        q.run_or_post({1, 3}, run);
    }).join();
    EXPECT_EQ(direct, std::vector<int>{2});
    EXPECT_FALSE(q.empty_before_sleep()) << "a worker must not sleep on queued work";
    drained.clear();
    EXPECT_EQ(q.drain([&](item& i) { drained.push_back(i.seq); }), 1u);
    EXPECT_EQ(drained, std::vector<int>{3});
    EXPECT_EQ(q.drain([&](item&) { ADD_FAILURE() << "nothing left"; }), 0u);
}

TEST(posted_queue, a_post_wakes_a_sleeping_adaptive_worker) {
    worker w(0, -1, idle_policy::adaptive);
    queue_poller p(&w);
    w.add_poller(&p);
    w.start();
    // The worker's sleep lasts a second unless something wakes it; each post must be
    // seen much sooner than that.
    for (int round = 0; round < 5; ++round) {
        uint64_t sleeps = w.sleeps();
        ASSERT_TRUE(wait_for([&] { return w.sleeps() > sleeps; })) << "the idle worker sleeps";
        std::this_thread::sleep_for(2ms); // well inside epoll_wait now
        size_t before = p.count.load();
        auto posted_at = std::chrono::steady_clock::now();
        p.queue.post({0, round});
        ASSERT_TRUE(wait_for([&] { return p.count.load() > before; }, 2s));
        EXPECT_LT(std::chrono::steady_clock::now() - posted_at, 500ms)
            << "round " << round << ": the post did not wake the worker";
    }
    w.stop();
    w.join();
}

TEST(posted_queue, what_was_never_drained_can_be_taken_back) {
    posted_queue<item> q(nullptr);
    q.post({0, 1});
    q.post({0, 2});
    auto left = q.take_all();
    ASSERT_EQ(left.size(), 2u);
    EXPECT_EQ(left[1].seq, 2);
    EXPECT_TRUE(q.empty_before_sleep());
    EXPECT_EQ(q.drain([](item&) { ADD_FAILURE(); }), 0u);
}
