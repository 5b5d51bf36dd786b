// Data-path counters are per thread and summed when read: what several threads count,
// the ones still running and the ones that ended, adds up in snapshot() and total().
#include "dataplane/runtime/data_path_counters.hh"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace smbx;

namespace {

uint64_t in_snapshot(const char* name) {
    for (auto& [n, v] : counters::snapshot()) {
        if (n == name) {
            return v;
        }
    }
    ADD_FAILURE() << name << " is not in the snapshot";
    return 0;
}

} // namespace

TEST(data_path_counters, counts_from_several_threads_sum_in_snapshot) {
    // Other tests in this process count too: compare differences.
    const uint64_t before = in_snapshot("smb2_messages_on_worker");
    const uint64_t bytes_before = in_snapshot("payload_copied_bytes");
    constexpr int threads = 4;
    constexpr int per_thread = 100000;
    std::atomic<int> counted{0};
    std::atomic<bool> finish{false};
    std::vector<std::thread> running;
    for (int t = 0; t < threads; ++t) {
        running.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                counters::add(counters::data().smb2_messages_on_worker, 1);
                counters::add(counters::data().payload_copied_bytes, uint64_t(t + 1));
            }
            ++counted;
            // Half the threads stay alive while the sum is read, half have ended.
            while (t % 2 == 0 && !finish) {
                std::this_thread::yield();
            }
        });
    }
    while (counted < threads) {
        std::this_thread::yield();
    }
    for (int t = 1; t < threads; t += 2) {
        running[size_t(t)].join();
    }
    // Each thread wrote only its own block: no count was lost to a race.
    EXPECT_EQ(in_snapshot("smb2_messages_on_worker") - before, uint64_t(threads) * per_thread);
    EXPECT_EQ(in_snapshot("payload_copied_bytes") - bytes_before,
              uint64_t(per_thread) * (1 + 2 + 3 + 4));
    finish = true;
    for (int t = 0; t < threads; t += 2) {
        running[size_t(t)].join();
    }
    // Ended threads' counts stay in the sums.
    EXPECT_EQ(counters::total(&counters::data_path::smb2_messages_on_worker) - before,
              uint64_t(threads) * per_thread);
    EXPECT_EQ(in_snapshot("smb2_messages_on_worker") - before, uint64_t(threads) * per_thread);
}

TEST(data_path_counters, each_thread_has_its_own_cache_line_aligned_block) {
    std::atomic<counters::data_path*> other{nullptr};
    std::atomic<bool> done{false};
    std::thread t([&] {
        other = &counters::data();
        while (!done) { // alive while compared: its block is not freed and reused
            std::this_thread::yield();
        }
    });
    while (!other) {
        std::this_thread::yield();
    }
    counters::data_path* mine = &counters::data();
    EXPECT_NE(mine, other.load());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(mine) % 64, 0u);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(other.load()) % 64, 0u);
    EXPECT_EQ(&counters::data(), mine) << "the same block on every call";
    done = true;
    t.join();
}

TEST(data_path_counters, snapshot_keeps_status_names_in_order) {
    auto s = counters::snapshot();
    ASSERT_GE(s.size(), 25u);
    EXPECT_EQ(s.front().first, "file_read_fixed_bytes");
    EXPECT_EQ(s[17].first, "smb2_messages_on_worker");
    EXPECT_EQ(s[18].first, "smb2_messages_to_request_threads");
    EXPECT_EQ(s[19].first, "smb2_read_file_reads");
    EXPECT_EQ(s[20].first, "worker_file_reads");
    EXPECT_EQ(s[23].first, "smb2_completions_to_request_threads");
    EXPECT_EQ(s[24].first, "server_copy_bytes");
}
