// A worker's file I/O ring: reads, writes and flushes of real files complete from
// poll(), never from the call that queued them; reads end early only at end of file;
// errors come back as -errno; a burst larger than the submission queue all completes;
// pool buffers go as fixed buffers; a worker's thread finds its ring as
// async_file_io::local().
#include "dataplane/runtime/file_io_ring.hh"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/runtime/worker.hh"

using namespace smbx;

namespace {

// A file on a disk file system (/var/tmp; /tmp may be tmpfs), removed at the end.
class temp_file {
public:
    temp_file() {
        char name[] = "/var/tmp/smbx-file-io-ring-XXXXXX";
        fd = mkstemp(name);
        path = name;
    }
    ~temp_file() {
        ::close(fd);
        ::unlink(path.c_str());
    }
    int fd = -1;
    std::string path;
};

// Polls until `done` or two seconds passed.
bool poll_until(file_io_ring& ring, const bool& done) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (!done && std::chrono::steady_clock::now() < until) {
        ring.poll();
    }
    return done;
}

} // namespace

TEST(file_io_ring, writes_reads_and_flushes_complete_from_poll) {
    file_io_ring ring(nullptr);
    ASSERT_TRUE(ring.ready());
    temp_file f;
    std::string text = "written by the worker's ring";
    bool written = false;
    ssize_t write_result = 0;
    ring.write(f.fd, reinterpret_cast<const uint8_t*>(text.data()), text.size(), 5, [&](ssize_t r) {
        write_result = r;
        written = true;
    });
    EXPECT_FALSE(written) << "never completed inside the call that queued it";
    EXPECT_EQ(ring.in_flight(), 1u);
    ASSERT_TRUE(poll_until(ring, written));
    EXPECT_EQ(write_result, ssize_t(text.size()));

    bool synced = false;
    ring.sync_data(f.fd, [&](ssize_t r) {
        EXPECT_EQ(r, 0);
        synced = true;
    });
    ASSERT_TRUE(poll_until(ring, synced));

    // A read past end of file ends early, with what there is.
    std::string got(100, '?');
    bool read = false;
    ssize_t read_result = 0;
    ring.read(f.fd, reinterpret_cast<uint8_t*>(got.data()), got.size(), 5, [&](ssize_t r) {
        read_result = r;
        read = true;
    });
    ASSERT_TRUE(poll_until(ring, read));
    ASSERT_EQ(read_result, ssize_t(text.size()));
    EXPECT_EQ(got.substr(0, text.size()), text);
    EXPECT_EQ(ring.in_flight(), 0u);
}

TEST(file_io_ring, errors_come_back_as_negative_errno) {
    file_io_ring ring(nullptr);
    temp_file f;
    int read_only = ::open(f.path.c_str(), O_RDONLY);
    ASSERT_GE(read_only, 0);
    bool done = false;
    ssize_t result = 0;
    uint8_t byte = 1;
    ring.write(read_only, &byte, 1, 0, [&](ssize_t r) {
        result = r;
        done = true;
    });
    ASSERT_TRUE(poll_until(ring, done));
    EXPECT_EQ(result, -EBADF);
    ::close(read_only);
}

// FLUSH's fsync (metadata too), counted with the write-through syncs.
TEST(file_io_ring, a_file_sync_completes_from_poll_with_zero_or_negative_errno) {
    file_io_ring ring(nullptr);
    temp_file f;
    auto syncs = [] { return counters::total(&counters::data_path::worker_file_syncs); };
    uint64_t before = syncs();
    ssize_t result = 1;
    bool done = false;
    ring.sync_file(f.fd, [&](ssize_t r) {
        result = r;
        done = true;
    });
    EXPECT_FALSE(done);
    ASSERT_TRUE(poll_until(ring, done));
    EXPECT_EQ(result, 0);
    int closed = ::dup(f.fd);
    ::close(closed);
    done = false;
    ring.sync_file(closed, [&](ssize_t r) {
        result = r;
        done = true;
    });
    ASSERT_TRUE(poll_until(ring, done));
    EXPECT_EQ(result, -EBADF);
    EXPECT_EQ(syncs() - before, 2u);
}

TEST(file_io_ring, a_burst_larger_than_the_queue_all_completes) {
    file_io_ring ring(nullptr, 8);
    temp_file f;
    constexpr int count = 100;
    std::vector<uint8_t> data(count);
    int completed = 0;
    for (int i = 0; i < count; ++i) {
        data[size_t(i)] = uint8_t(i);
        ring.write(f.fd, &data[size_t(i)], 1, uint64_t(i), [&](ssize_t r) {
            EXPECT_EQ(r, 1);
            ++completed;
        });
    }
    bool all = false;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (completed < count && std::chrono::steady_clock::now() < until) {
        ring.poll();
    }
    all = completed == count;
    ASSERT_TRUE(all) << completed << " of " << count;
    std::vector<uint8_t> back(count);
    ASSERT_EQ(::pread(f.fd, back.data(), back.size(), 0), count);
    EXPECT_EQ(back, data);
}

TEST(file_io_ring, a_completion_may_queue_the_next_operation) {
    file_io_ring ring(nullptr);
    temp_file f;
    uint8_t a = 'a', got = 0;
    bool done = false;
    ring.write(f.fd, &a, 1, 0, [&](ssize_t r) {
        ASSERT_EQ(r, 1);
        ring.read(f.fd, &got, 1, 0, [&](ssize_t n) {
            EXPECT_EQ(n, 1);
            done = true;
        });
    });
    ASSERT_TRUE(poll_until(ring, done));
    EXPECT_EQ(got, 'a');
}

TEST(file_io_ring, pool_buffers_go_as_fixed_buffers) {
    buffer_pool pool(8 * 1024 * 1024);
    file_io_ring ring(&pool);
    if (!ring.buffers_registered()) {
        GTEST_SKIP() << "this process may not lock the pool's memory (RLIMIT_MEMLOCK)";
    }
    temp_file f;
    auto buf = pool.get(4096);
    std::memset(buf.data(), 'z', 4096);
    auto fixed_before = counters::total(&counters::data_path::file_write_fixed_bytes);
    auto read_before = counters::total(&counters::data_path::file_read_fixed_bytes);
    bool done = false;
    ring.write(f.fd, buf.data(), 4096, 0, [&](ssize_t r) {
        EXPECT_EQ(r, 4096);
        done = true;
    });
    ASSERT_TRUE(poll_until(ring, done));
    EXPECT_EQ(counters::total(&counters::data_path::file_write_fixed_bytes), fixed_before + 4096);
    auto back = pool.get(4096);
    done = false;
    ring.read(f.fd, back.data(), 4096, 0, [&](ssize_t r) {
        EXPECT_EQ(r, 4096);
        done = true;
    });
    ASSERT_TRUE(poll_until(ring, done));
    EXPECT_EQ(counters::total(&counters::data_path::file_read_fixed_bytes), read_before + 4096);
    EXPECT_EQ(std::memcmp(back.data(), buf.data(), 4096), 0);
}

TEST(file_io_ring, a_workers_thread_finds_its_ring_as_the_local_queue) {
    struct probe : poller {
        std::atomic<bool> seen{false};
        std::atomic<async_file_io*> io{nullptr};
        unsigned poll() override {
            if (!seen.exchange(true)) {
                io = async_file_io::local();
            }
            return 0;
        }
    } p;
    worker w(0, -1, idle_policy::poll);
    w.add_poller(&p);
    w.start();
    for (int i = 0; i < 200 && !p.seen; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    w.stop();
    w.join();
    ASSERT_TRUE(p.seen);
    EXPECT_NE(p.io.load(), nullptr);
    EXPECT_EQ(async_file_io::local(), nullptr) << "not on this thread";
}
