#include "control/control_service.hh"

#include <poll.h>
#include <unistd.h>

#include "common/log.hh"
#include "common/ntstatus.hh"

namespace smbx {

namespace {

// How long a full to_dataplane ring is retried before the reply is dropped (the data
// plane then times the call out).
constexpr int send_attempts = 200;
constexpr useconds_t send_retry_us = 5000;

// Bounds what one status reply may make control hold: 4096 ring slots of 16 KiB,
// 64 MiB, some hundred thousand sessions and opens.
constexpr uint32_t max_status_parts = 4096;

void wake(int fd) {
    uint64_t one = 1;
    ssize_t r = write(fd, &one, sizeof one);
    (void)r; // a saturated eventfd is already readable
}

void drain_eventfd(int fd) {
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
}

const char* status_name(uint32_t s) {
    switch (s) {
    case status::success:
        return "SUCCESS";
    case status::more_processing_required:
        return "MORE_PROCESSING_REQUIRED";
    case status::logon_failure:
        return "LOGON_FAILURE";
    case status::access_denied:
        return "ACCESS_DENIED";
    case status::bad_network_name:
        return "BAD_NETWORK_NAME";
    case status::invalid_parameter:
        return "INVALID_PARAMETER";
    default:
        return "error";
    }
}

} // namespace

ipc::share_info ipc_share() {
    ipc::share_info s;
    s.name = "IPC$";
    s.comment = "IPC Service";
    s.type = ipc::share_type::ipc;
    s.read_only = false;
    s.browseable = true;
    return s;
}

control_service::control_service(const config::server_config& cfg, auth_backend auth,
                                 control_channel& channel, int wake_control_fd,
                                 int wake_dataplane_fd)
    : _cfg(cfg), _auth(std::move(auth)), _channel(channel), _wake_control_fd(wake_control_fd),
      _wake_dataplane_fd(wake_dataplane_fd) {}

ipc::share_info control_service::share_info_of(const config::share_config& s) const {
    ipc::share_info i;
    i.name = s.name;
    i.path = s.path;
    i.comment = s.comment;
    i.type = ipc::share_type::disk;
    i.read_only = s.read_only;
    i.browseable = s.browseable;
    i.encrypt_required = _cfg.share_encrypt(s) == encrypt_policy::required;
    i.direct_io = s.direct_io;
    i.oplocks = s.oplocks;
    i.level2_oplocks = s.level2_oplocks;
    return i;
}

ipc::tree_connect_reply control_service::tree_connect(const ipc::tree_connect_request& req) const {
    ipc::tree_connect_reply r;
    std::string_view name = req.share;
    // Tolerate a full UNC path although the data plane sends the bare name.
    if (auto slash = name.find_last_of('\\'); slash != std::string_view::npos) {
        name.remove_prefix(slash + 1);
    }
    if (config::iequals(name, "IPC$")) {
        // Everyone, anonymous included, may reach IPC$ (srvsvc share enumeration).
        r.status = status::success;
        r.share = ipc_share();
        return r;
    }
    const auto* s = _cfg.find_share(name);
    if (!s) {
        r.status = status::bad_network_name;
        return r;
    }
    bool allowed;
    if (req.guest || req.anonymous) {
        // Guests and anonymous users need `guest ok`, and no `valid users` list to pass.
        allowed = s->guest_ok && s->valid_users.empty();
    } else if (s->valid_users.empty()) {
        allowed = true;
    } else {
        allowed = false;
        for (const auto& u : s->valid_users) {
            if (config::iequals(u, req.user)) {
                allowed = true;
                break;
            }
        }
    }
    if (!allowed) {
        r.status = status::access_denied;
        return r;
    }
    r.status = status::success;
    r.share = share_info_of(*s);
    return r;
}

ipc::share_enum_reply control_service::share_enum() const {
    ipc::share_enum_reply r;
    for (const auto& s : _cfg.shares) {
        r.shares.push_back(share_info_of(s));
    }
    r.shares.push_back(ipc_share());
    return r;
}

bool control_service::send(const bytes& message) {
    for (int attempt = 0; attempt < send_attempts; ++attempt) {
        if (_channel.to_dataplane().push(message)) {
            wake(_wake_dataplane_fd);
            return true;
        }
        wake(_wake_dataplane_fd); // it may be asleep with a full ring
        usleep(send_retry_us);
    }
    LOG_WARN("to_dataplane ring full; dropping a reply");
    return false;
}

void control_service::handle(const bytes& message) {
    auto h = ipc::decode_header(message);
    if (!h) {
        LOG_WARN("control channel: runt message (%zu bytes) dropped", message.size());
        return;
    }
    if (leases::lease_service::handles(h->type)) {
        for (const auto& out : _leases.handle(message, std::chrono::steady_clock::now())) {
            send(out);
        }
        return;
    }
    switch (h->type) {
    case ipc::msg_type::hello:
        if (auto pid = ipc::decode_hello(message)) {
            LOG_NOTICE("data plane pid %u is up", *pid);
            _leases.reset(); // a new data plane: no open of an old one is left
            return;
        }
        break;
    case ipc::msg_type::auth_request:
        if (auto req = ipc::decode_auth_request(message)) {
            auto reply = _auth.step(*req);
            if (reply.status != status::more_processing_required) {
                LOG_INFO("authentication from %s: %s%s%s%s", req->client_address.c_str(),
                         status_name(reply.status), reply.user.empty() ? "" : " user ",
                         reply.user.c_str(),
                         reply.guest ? " (guest)" : (reply.anonymous ? " (anonymous)" : ""));
            }
            send(ipc::encode(h->id, reply));
            return;
        }
        break;
    case ipc::msg_type::auth_abandon:
        if (auto req = ipc::decode_auth_abandon(message)) {
            _auth.abandon(req->auth_id);
            return;
        }
        break;
    case ipc::msg_type::tree_connect_request:
        if (auto req = ipc::decode_tree_connect_request(message)) {
            auto reply = tree_connect(*req);
            LOG_INFO("tree connect to '%s' by '%s': %s", req->share.c_str(),
                     req->anonymous ? "(anonymous)" : req->user.c_str(), status_name(reply.status));
            send(ipc::encode(h->id, reply));
            return;
        }
        break;
    case ipc::msg_type::share_enum_request:
        send(ipc::encode(h->id, share_enum()));
        return;
    case ipc::msg_type::status_reply:
        if (auto reply = ipc::decode_status_reply(message)) {
            auto it = _status_waiting.find(h->id);
            if (it == _status_waiting.end() || it->second.done) {
                return; // nobody waits (timed out), or a stray part after the last
            }
            uint32_t part = reply->part;
            // A part missing (a full ring dropped it) or too many: the reply is
            // incomplete, and the wait ends without one.
            if (!ipc::append_status_part(it->second.reply, std::move(*reply)) ||
                it->second.reply.part > max_status_parts) {
                LOG_WARN("status reply %llu: part %u out of order or too many; dropped",
                         static_cast<unsigned long long>(h->id), unsigned(part));
                _status_waiting.erase(it);
                return;
            }
            it->second.done = !it->second.reply.more;
            return;
        }
        break;
    default:
        LOG_WARN("control channel: unexpected message type %u dropped", unsigned(h->type));
        return;
    }
    LOG_WARN("control channel: malformed message type %u dropped", unsigned(h->type));
}

void control_service::on_wake() {
    drain_eventfd(_wake_control_fd);
    while (auto m = _channel.to_control().pop()) {
        handle(*m);
    }
}

void control_service::reset_rings() {
    // Only while no data plane runs: control then may act as either ring's consumer.
    size_t dropped = 0;
    while (_channel.to_control().pop()) {
        ++dropped;
    }
    while (_channel.to_dataplane().pop()) {
        ++dropped;
    }
    if (dropped) {
        LOG_INFO("dropped %zu stale control channel messages", dropped);
    }
    _status_waiting.clear();
    _leases.reset();
}

void control_service::tick(std::chrono::steady_clock::time_point now) {
    for (const auto& out : _leases.expire(now)) {
        send(out);
    }
}

std::optional<ipc::status_reply> control_service::query_status(std::chrono::milliseconds timeout) {
    uint64_t id = _next_id++;
    _status_waiting[id] = status_waiting{};
    if (!send(ipc::encode_status_request(id))) {
        _status_waiting.erase(id);
        return std::nullopt;
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::optional<ipc::status_reply> result;
    for (;;) {
        on_wake();
        auto it = _status_waiting.find(id);
        if (it == _status_waiting.end() || it->second.done) {
            if (it != _status_waiting.end()) {
                result = std::move(it->second.reply);
                result->part = 0;
                result->more = false;
            }
            break;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            break;
        }
        pollfd p{_wake_control_fd, POLLIN, 0};
        poll(&p, 1, int(std::min<int64_t>(left.count(), 100)));
    }
    _status_waiting.erase(id);
    return result;
}

} // namespace smbx
