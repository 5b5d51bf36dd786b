#include "dataplane/control_client.hh"

#include <poll.h>
#include <unistd.h>

#include "common/log.hh"

namespace smbx {

control_client::control_client(control_channel& channel, int wake_control_fd, int wake_dataplane_fd)
    : _channel(channel), _wake_control_fd(wake_control_fd), _wake_dataplane_fd(wake_dataplane_fd) {}

control_client::~control_client() {
    stop();
}

void control_client::start(status_provider status, bool own_thread) {
    _status = std::move(status);
    if (own_thread) {
        _receiver = std::thread([this] { receive_loop(); });
    }
    send(ipc::encode_hello(0, static_cast<uint32_t>(getpid())));
}

void control_client::stop() {
    {
        std::lock_guard lock(_mutex);
        _stopping = true;
    }
    _cv.notify_all();
    if (_receiver.joinable()) {
        uint64_t one = 1;
        ssize_t r = write(_wake_dataplane_fd, &one, sizeof one);
        (void)r;
        _receiver.join();
    }
}

bool control_client::send(const bytes& message) {
    // Many executor threads may send; the ring has one producer slot, so serialise.
    static std::mutex send_mutex;
    for (int attempt = 0; attempt < 200; ++attempt) {
        {
            std::lock_guard lock(send_mutex);
            if (_channel.to_control().push(message)) {
                uint64_t one = 1;
                ssize_t r = write(_wake_control_fd, &one, sizeof one);
                (void)r;
                return true;
            }
        }
        usleep(5000); // ring full: the control plane is behind or restarting
    }
    LOG_WARN("control channel full; dropping a message");
    return false;
}

std::optional<bytes> control_client::call(uint64_t id, const bytes& message) {
    {
        std::lock_guard lock(_mutex);
        _pending[id] = std::nullopt;
    }
    if (!send(message)) {
        std::lock_guard lock(_mutex);
        _pending.erase(id);
        return std::nullopt;
    }
    std::unique_lock lock(_mutex);
    bool done = _cv.wait_for(lock, _timeout, [&] { return _stopping || _pending[id].has_value(); });
    auto reply = std::move(_pending[id]);
    _pending.erase(id);
    if (!done || !reply) {
        LOG_WARN("control plane did not answer request %llu", static_cast<unsigned long long>(id));
    }
    return reply;
}

void control_client::receive_loop() {
    while (true) {
        {
            std::lock_guard lock(_mutex);
            if (_stopping) {
                return;
            }
        }
        pollfd p{_wake_dataplane_fd, POLLIN, 0};
        // A timeout as well as the eventfd: a control plane that died between pushing a
        // message and writing the eventfd must not strand the reply.
        if (::poll(&p, 1, 200) > 0) {
            after_sleep();
        }
        drain();
    }
}

unsigned control_client::poll() {
    return drain();
}

void control_client::after_sleep() {
    uint64_t v;
    ssize_t r = read(_wake_dataplane_fd, &v, sizeof v);
    (void)r;
}

unsigned control_client::drain() {
    unsigned n = 0;
    while (auto msg = _channel.to_dataplane().pop()) {
        ++n;
        auto h = ipc::decode_header(*msg);
        if (!h) {
            LOG_WARN("malformed message from control plane dropped");
            continue;
        }
        if (h->type == ipc::msg_type::status_request) {
            // Answered on a thread of its own: gathering status takes connection
            // locks that a request waiting for a reply may hold.
            if (_status) {
                std::thread([this, id = h->id] {
                    for (const auto& part : ipc::encode_status_parts(
                             id, _status(), _channel.to_control().max_message())) {
                        if (!send(part)) {
                            break; // control sees a part missing and gives up on the reply
                        }
                    }
                }).detach();
            }
            continue;
        }
        if (h->type == ipc::msg_type::lease_break || h->type == ipc::msg_type::lease_released) {
            if (_lease_notice) {
                _lease_notice(*msg);
            }
            continue;
        }
        std::lock_guard lock(_mutex);
        auto it = _pending.find(h->id);
        if (it != _pending.end()) {
            it->second = std::move(*msg);
            _cv.notify_all();
        }
    }
    return n;
}

std::optional<ipc::auth_reply> control_client::authenticate(const ipc::auth_request& req) {
    uint64_t id = next_id();
    auto reply = call(id, ipc::encode(id, req));
    if (!reply) {
        return std::nullopt;
    }
    return ipc::decode_auth_reply(*reply);
}

void control_client::abandon(uint64_t auth_id) {
    if (auth_id) {
        send(ipc::encode(0, ipc::auth_abandon{auth_id}));
    }
}

std::optional<ipc::tree_connect_reply>
control_client::tree_connect(const ipc::tree_connect_request& req) {
    uint64_t id = next_id();
    auto reply = call(id, ipc::encode(id, req));
    if (!reply) {
        return std::nullopt;
    }
    return ipc::decode_tree_connect_reply(*reply);
}

std::optional<ipc::share_enum_reply> control_client::enum_shares() {
    uint64_t id = next_id();
    auto reply = call(id, ipc::encode_share_enum_request(id));
    if (!reply) {
        return std::nullopt;
    }
    return ipc::decode_share_enum_reply(*reply);
}

uint64_t control_client::next_id() {
    std::lock_guard lock(_mutex);
    return _next_id++;
}

std::optional<ipc::lease_open_reply>
control_client::lease_open(const ipc::lease_open_request& req) {
    return ask<ipc::lease_open_reply>(req);
}

std::optional<ipc::lease_ack_reply> control_client::lease_ack(const ipc::lease_ack_request& req) {
    return ask<ipc::lease_ack_reply>(req);
}

std::optional<ipc::lease_handles_reply>
control_client::lease_handles(const ipc::lease_handles_request& req) {
    return ask<ipc::lease_handles_reply>(req);
}

void control_client::lease_close(uint64_t open) {
    send(ipc::encode_fields(0, ipc::lease_close{open}));
}

void control_client::lease_write(uint64_t open, const std::string& file) {
    send(ipc::encode_fields(0, ipc::lease_write{open, file}));
}

} // namespace smbx
