// Drives the io_uring TCP transport's receive side (dataplane/tcp/tcp_receive.cc: Direct
// TCP framing, MS-SMB2 2.1, by the shared framer runtime/direct_tcp_framer.hh, cut out
// of provided-buffer ring buffers, the rest of a large message received straight into
// its pool buffer) with arbitrary byte
// streams over a real loopback connection, one connection per input. The ring is small
// (8 x 4 KiB) so that messages span buffers and the ring runs dry.
//
// Input: [flags:1][stream...]. Bit 0 of flags: the connection allows messages up to
// the post-session maximum (else the pre-session one); bits 1-7: the stream is written
// in pieces of that many bytes (0: in one write), so messages and headers are cut at
// varying places.
//
// Checked on every input: the transport delivers exactly the messages a reference
// framer finds in the stream, in order, up to the first framing error or the end of
// the stream; and it then closes the connection (a framing error, or the peer's end
// of stream) within 10 s.
#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "common/log.hh"
#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/runtime/worker.hh"
#include "dataplane/tcp/tcp_transport.hh"

using namespace smbx;

namespace {

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

struct recording_events : transport_events {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<bytes> messages;
    int disconnects = 0;
    uint32_t max_incoming = transport_connection::pre_session_max_message;

    void on_connect(const std::shared_ptr<transport_connection>& c) override {
        std::lock_guard lock(mutex);
        c->max_incoming = max_incoming;
    }
    void on_message(const std::shared_ptr<transport_connection>&, pool_buffer m) override {
        std::lock_guard lock(mutex);
        messages.emplace_back(m.data(), m.data() + m.size());
    }
    void on_disconnect(const std::shared_ptr<transport_connection>&) override {
        std::lock_guard lock(mutex);
        ++disconnects;
        changed.notify_all();
    }
};

// The messages a correct Direct TCP framer finds in `s`, up to the first framing error
// or the end of the stream.
std::vector<bytes> reference_frames(const uint8_t* s, size_t n, uint32_t max_incoming) {
    std::vector<bytes> out;
    size_t pos = 0;
    while (n - pos >= 4) {
        size_t len = (size_t(s[pos + 1]) << 16) | (size_t(s[pos + 2]) << 8) | s[pos + 3];
        if (s[pos] != 0 || len < 4 || len > max_incoming) {
            break;
        }
        if (n - pos - 4 < len) {
            break; // the peer ended the stream in the middle of the message
        }
        out.emplace_back(s + pos + 4, s + pos + 4 + len);
        pos += 4 + len;
    }
    return out;
}

struct harness {
    buffer_pool pool{32 * 1024 * 1024};
    recording_events events;
    std::unique_ptr<worker> runner;
    std::unique_ptr<tcp_transport> transport;
    sockaddr_in address{};

    harness() {
        log::set_level(0);        // errors only: a warning per broken frame otherwise
        signal(SIGPIPE, SIG_IGN); // writing to a connection the transport closed
        buffer_pool::set_global(&pool);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        check(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        check(listen(fd, 16) == 0);
        socklen_t l = sizeof address;
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &l);
        runner = std::make_unique<worker>(0, -1, idle_policy::adaptive);
        transport = std::make_unique<tcp_transport>(std::vector<int>{fd}, events, *runner,
                                                    tcp_transport::zero_copy::no,
                                                    provided_buffer_ring::config{8, 4096});
        runner->add_poller(transport.get());
        runner->start();
    }
    ~harness() {
        runner->stop();
        runner->join(); // before the transport it polls goes
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static harness h; // one transport for the whole run, as a server has
    if (size < 1) {
        return 0;
    }
    uint32_t max_incoming = (data[0] & 1) ? transport_connection::max_message
                                          : transport_connection::pre_session_max_message;
    size_t piece = data[0] >> 1;
    const uint8_t* stream = data + 1;
    size_t n = size - 1;
    int disconnects;
    {
        std::lock_guard lock(h.events.mutex);
        h.events.messages.clear();
        h.events.max_incoming = max_incoming;
        disconnects = h.events.disconnects;
    }

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(connect(fd, reinterpret_cast<sockaddr*>(&h.address), sizeof h.address) == 0);
    for (size_t at = 0; at < n;) {
        size_t len = piece ? std::min(piece, n - at) : n - at;
        ssize_t r = send(fd, stream + at, len, MSG_NOSIGNAL);
        if (r <= 0) {
            break; // the transport closed the connection (a framing error) and reset it
        }
        at += size_t(r);
    }
    shutdown(fd, SHUT_WR);

    std::unique_lock lock(h.events.mutex);
    check(h.events.changed.wait_for(lock, std::chrono::seconds(10),
                                    [&] { return h.events.disconnects > disconnects; }));
    check(h.events.messages == reference_frames(stream, n, max_incoming));
    lock.unlock();
    close(fd);
    return 0;
}
