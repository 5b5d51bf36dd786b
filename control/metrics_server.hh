// `metrics address = IP:PORT`: smbx-control's HTTP endpoint for Prometheus
// (cpp-httplib, on threads of its own). A scrape never touches the data plane or the
// control rings itself: it asks control's main thread, which owns the control
// service, through an eventfd, and waits (bounded) for the exposition it renders.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace httplib {
class Server;
}

namespace smbx {

class metrics_server {
public:
    // Listening on host:port (GET /metrics), or nullptr with `error` set.
    static std::unique_ptr<metrics_server> start(const std::string& host, uint16_t port,
                                                 std::string& error);
    ~metrics_server(); // scrapes still waiting get 503; the thread is joined

    // Readable while scrapes wait for an exposition (control's epoll watches it).
    int wake_fd() const { return _wake_fd; }
    // On control's main thread: render once and answer every scrape waiting.
    void answer_waiting(const std::function<std::string()>& render);

    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;

private:
    metrics_server();
    // On an HTTP thread: the exposition, or nullopt after the wait or at shutdown.
    bool wait_for_exposition(std::string& body);

    std::unique_ptr<httplib::Server> _server;
    std::thread _thread;
    std::atomic<bool> _listen_ended{false}; // listen_after_bind returned
    int _wake_fd = -1;
    std::mutex _mutex;
    std::condition_variable _cv;
    uint64_t _requested = 0; // scrapes asked for so far
    uint64_t _answered = 0;  // scrapes the latest exposition answers
    std::string _latest;
    bool _stopping = false;
};

} // namespace smbx
