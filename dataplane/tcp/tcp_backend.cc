#include "dataplane/tcp/tcp_backend.hh"

#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>

#include "common/log.hh"
#include "dataplane/tcp/tcp_transport.hh"

namespace smbx {

namespace {

class tcp_backend final : public transport_backend {
public:
    explicit tcp_backend(const backend_context& context) : _context(context) {
        const dataplane_settings& s = context.settings;
        _listen_fds.assign(s.listen_fds, s.listen_fds + std::min<uint32_t>(s.listen_fd_count, 16));
        _zero_copy = s.zero_copy_send == 0   ? tcp_transport::zero_copy::no
                     : s.zero_copy_send == 1 ? tcp_transport::zero_copy::yes
                                             : tcp_transport::zero_copy::automatic;
    }

    const char* name() const override { return "tcp"; }

    bool listen() override {
        if (_listen_fds.empty()) {
            LOG_ERROR("tcp: no listening sockets were handed over");
            return false;
        }
        // One instance per worker, each with its own ring; the first one accepts.
        try {
            for (size_t i = 0; i < _context.workers.size(); ++i) {
                _transports.push_back(std::make_unique<tcp_transport>(
                    i == 0 ? _listen_fds : std::vector<int>{}, _context.events,
                    *_context.workers[i], _zero_copy));
            }
        } catch (const std::exception& e) {
            LOG_ERROR("tcp: %s", e.what());
            _transports.clear();
            return false;
        }
        return true;
    }

    void start() override {
        std::vector<tcp_transport*> group;
        for (size_t i = 0; i < _transports.size(); ++i) {
            _context.workers[i]->add_poller(_transports[i].get());
            group.push_back(_transports[i].get());
        }
        // The first deals what it accepts out to all of them.
        _transports.front()->set_group(group);
    }

    void stop() override { _transports.clear(); }

    std::vector<uint32_t> listening_addresses() const override {
        std::vector<uint32_t> out;
        for (int fd : _listen_fds) {
            sockaddr_in sin{};
            socklen_t len = sizeof sin;
            if (getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0 &&
                sin.sin_family == AF_INET) {
                out.push_back(sin.sin_addr.s_addr);
            }
        }
        return out;
    }

private:
    backend_context _context;
    std::vector<int> _listen_fds;
    tcp_transport::zero_copy _zero_copy;
    std::vector<std::unique_ptr<tcp_transport>> _transports;
};

} // namespace

const transport_registration tcp_transport_registration = {
    "tcp",
    [](const dataplane_settings& s) { return s.transport == transport_kind::tcp; },
    true,
    [](const backend_context& c) -> std::unique_ptr<transport_backend> {
        return std::make_unique<tcp_backend>(c);
    },
};

} // namespace smbx
