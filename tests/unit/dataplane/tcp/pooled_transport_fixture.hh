// One worker running a tcp_transport on a loopback listener, with a real buffer pool
// as the global one: the fixture of the receive and zero-copy send tests. When it
// stops, every pool buffer must be back and none may have come from the heap.
#pragma once

#include <chrono>
#include <functional>
#include <gtest/gtest.h>
#include <memory>
#include <thread>
#include <unistd.h>

#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/tcp/tcp_transport.hh"
#include "tests/unit/dataplane/tcp/loopback_helpers.hh"

namespace smbx::test {

struct pooled_transport_fixture : ::testing::Test {
    uint16_t port = 0;
    int listen_fd = -1;
    std::unique_ptr<buffer_pool> pool;
    std::unique_ptr<worker> runner;
    std::unique_ptr<tcp_transport> transport;

    // `configure` runs before the worker starts.
    void start_transport(transport_events& events, size_t pool_bytes, tcp_transport::zero_copy zc,
                         provided_buffer_ring::config ring = {},
                         const std::function<void(tcp_transport&)>& configure = {}) {
        pool = std::make_unique<buffer_pool>(pool_bytes);
        buffer_pool::set_global(pool.get());
        listen_fd = listen_on_loopback(port);
        runner = std::make_unique<worker>(0, -1, idle_policy::adaptive);
        transport =
            std::make_unique<tcp_transport>(std::vector<int>{listen_fd}, events, *runner, zc, ring);
        if (configure) {
            configure(*transport);
        }
        runner->add_poller(transport.get());
        runner->start();
    }
    void TearDown() override {
        if (runner) {
            runner->stop();
            runner->join();
        }
        transport.reset();
        runner.reset();
        if (pool) {
            EXPECT_EQ(pool->stats().heap_fallbacks, 0u);
            EXPECT_EQ(pool->stats().in_use, 0u) << "a message buffer was not returned";
        }
        buffer_pool::set_global(nullptr);
        pool.reset();
        if (listen_fd >= 0) {
            close(listen_fd);
        }
    }
    // Polls `done` for up to 5 s.
    bool wait_for(const std::function<bool()>& done) {
        for (int i = 0; i < 500 && !done(); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return done();
    }
};

} // namespace smbx::test
