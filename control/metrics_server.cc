#include "control/metrics_server.hh"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>

#include "common/log.hh"

namespace smbx {

namespace {

// How long a scrape waits for control's main thread (Prometheus' default scrape
// timeout is 10 s; control answers a status request within 2 s or reports the data
// plane down).
constexpr auto scrape_wait = std::chrono::seconds(4);

} // namespace

metrics_server::metrics_server()
    : _server(std::make_unique<httplib::Server>()),
      _wake_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

metrics_server::~metrics_server() {
    {
        std::lock_guard lock(_mutex);
        _stopping = true;
    }
    _cv.notify_all();
    // cpp-httplib's stop() does nothing until its listening loop runs (the loop sets
    // is_running): a stop right after start would leave the thread listening and the
    // join below waiting for ever. So wait for the loop first (or for its end).
    for (int i = 0; _thread.joinable() && i < 2000 && !_server->is_running() && !_listen_ended;
         ++i) {
        usleep(1000);
    }
    _server->stop();
    if (_thread.joinable()) {
        _thread.join();
    }
    close(_wake_fd);
}

std::unique_ptr<metrics_server> metrics_server::start(const std::string& host, uint16_t port,
                                                      std::string& error) {
    std::unique_ptr<metrics_server> m(new metrics_server);
    if (m->_wake_fd < 0) {
        error = std::string("eventfd: ") + strerror(errno);
        return nullptr;
    }
    auto& srv = *m->_server;
    // Two threads: scrapes are rare and each waits on control's main thread anyway.
    srv.new_task_queue = [] { return new httplib::ThreadPool(2); };
    srv.set_payload_max_length(4096);
    srv.set_read_timeout(5, 0);
    srv.set_write_timeout(5, 0);
    srv.set_keep_alive_max_count(100);
    // Close-on-exec: a SIGHUP re-executes smbx-control, which must bind the port anew.
    srv.set_socket_options([](int fd) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    });
    metrics_server* self = m.get();
    srv.Get("/metrics", [self](const httplib::Request&, httplib::Response& res) {
        std::string body;
        if (!self->wait_for_exposition(body)) {
            res.status = 503;
            res.set_content("smbx-control did not render the metrics in time\n", "text/plain");
            return;
        }
        res.set_content(body, "text/plain; version=0.0.4; charset=utf-8");
    });
    if (!srv.bind_to_port(host, port)) {
        error = "cannot listen on " + host + ":" + std::to_string(port) + ": " + strerror(errno);
        return nullptr;
    }
    m->_thread = std::thread([self] {
        pthread_setname_np(pthread_self(), "smbx-metrics");
        self->_server->listen_after_bind();
        self->_listen_ended = true;
    });
    return m;
}

bool metrics_server::wait_for_exposition(std::string& body) {
    std::unique_lock lock(_mutex);
    uint64_t ticket = ++_requested;
    uint64_t one = 1;
    ssize_t w = write(_wake_fd, &one, sizeof one);
    (void)w; // a saturated eventfd is readable anyway
    bool done = _cv.wait_for(lock, scrape_wait, [&] { return _stopping || _answered >= ticket; });
    if (!done || _answered < ticket) {
        return false;
    }
    body = _latest;
    return true;
}

void metrics_server::answer_waiting(const std::function<std::string()>& render) {
    uint64_t v;
    ssize_t r = read(_wake_fd, &v, sizeof v);
    (void)r;
    uint64_t upto;
    {
        std::lock_guard lock(_mutex);
        if (_answered >= _requested) {
            return;
        }
        upto = _requested; // a scrape asking while we render waits for the next round
    }
    std::string body = render();
    {
        std::lock_guard lock(_mutex);
        _latest = std::move(body);
        _answered = upto;
    }
    _cv.notify_all();
}

} // namespace smbx
