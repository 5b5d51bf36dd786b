// request_executor::stop() drops the work still queued and frees it, including work
// that owns its own strand (a connection's teardown holds the client that holds the
// strand): that cycle would otherwise outlive the executor. A strand runs its items in
// order; a pinned executor's threads run on their core only.
#include "dataplane/request_executor.hh"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

using namespace smbx;

namespace {

// What a connection is to the executor: something that owns a strand.
struct strand_owner {
    std::shared_ptr<request_executor::strand> strand;
};

} // namespace

TEST(request_executor, stop_frees_queued_work_that_owns_its_strand) {
    request_executor executor(1);
    auto owner = std::make_shared<strand_owner>();
    owner->strand = executor.make_strand();
    std::weak_ptr<strand_owner> watch = owner;

    std::atomic<bool> started{false}, release{false};
    owner->strand->post([&] {
        started = true;
        while (!release) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });
    // A strand runs at most 16 items before it yields (run_strand): the 17th is still
    // queued when the only thread sees the executor stopping.
    for (int i = 0; i < 15; ++i) {
        owner->strand->post([] {});
    }
    bool ran = false;
    owner->strand->post([owner, &ran] { ran = true; }); // the cycle: task -> owner -> strand
    owner.reset();
    while (!started) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::thread stopper([&] { executor.stop(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20)); // stop() is waiting to join
    release = true;
    stopper.join();

    EXPECT_FALSE(ran);
    EXPECT_TRUE(watch.expired());
}

TEST(request_executor, items_of_one_strand_run_in_order) {
    request_executor executor(2);
    auto s = executor.make_strand();
    std::vector<int> order;
    std::atomic<int> done{0};
    for (int i = 0; i < 100; ++i) {
        s->post([&order, &done, i] {
            order.push_back(i); // one strand: never two at once, no lock needed
            ++done;
        });
    }
    for (int i = 0; i < 5000 && done < 100; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(done.load(), 100);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(order[size_t(i)], i);
    }
}

// A worker's helper pool runs on that worker's core only (main.cc pins one per worker).
TEST(request_executor, pinned_threads_run_only_on_their_core) {
    int cpu = sched_getcpu();
    ASSERT_GE(cpu, 0);
    request_executor ex(2, cpu);
    auto s = ex.make_strand();
    std::atomic<int> ran{0};
    std::atomic<bool> only_that_core{true};
    for (int i = 0; i < 8; ++i) {
        s->post([&] {
            cpu_set_t set;
            CPU_ZERO(&set);
            bool ok = pthread_getaffinity_np(pthread_self(), sizeof set, &set) == 0 &&
                      CPU_COUNT(&set) == 1 && CPU_ISSET(cpu, &set) && sched_getcpu() == cpu;
            if (!ok) {
                only_that_core = false;
            }
            ++ran;
        });
    }
    for (int i = 0; i < 500 && ran < 8; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ex.stop();
    EXPECT_EQ(ran, 8);
    EXPECT_TRUE(only_that_core);
}
