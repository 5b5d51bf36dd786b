// The data plane's side of the control channel: sends requests to smbx-control and
// waits for the matching reply. Calls block the calling thread, so they are made from
// the request executor's threads, never from a network worker thread. Replies are
// collected by a poller: the first worker polls the ring with its network (the data
// plane), or a thread of its own does (start(..., true): tests, tools).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "common/control_channel.hh"
#include "common/ipc_messages.hh"
#include "common/lease_ipc.hh"
#include "dataplane/lease_arbitration.hh"
#include "dataplane/runtime/worker.hh"

namespace smbx {

class control_client final : public poller, public lease_arbitration {
public:
    using status_provider = std::function<ipc::status_reply()>;
    // A lease break or release the arbiter sent (common/lease_ipc.hh), for the engine
    // to deliver; called on the thread that polls the ring, so it must not block.
    using lease_notice_handler = std::function<void(const bytes& message)>;

    control_client(control_channel& channel, int wake_control_fd, int wake_dataplane_fd);
    ~control_client();

    // own_thread = false: the caller adds this to a worker's pollers.
    void start(status_provider status, bool own_thread = true);
    // How long a call waits for its reply (tests and fuzzers shorten it).
    void set_timeout(std::chrono::milliseconds t) { _timeout = t; }
    void stop();

    std::optional<ipc::auth_reply> authenticate(const ipc::auth_request& req);
    void abandon(uint64_t auth_id);
    std::optional<ipc::tree_connect_reply> tree_connect(const ipc::tree_connect_request& req);

    // Oplock and lease arbitration (control/leases): a CREATE's request and an
    // OPLOCK_BREAK acknowledgement wait for their answer; a CLOSE or a WRITE to a file
    // others cache only tells.
    std::optional<ipc::lease_open_reply> lease_open(const ipc::lease_open_request& req) override;
    std::optional<ipc::lease_ack_reply> lease_ack(const ipc::lease_ack_request& req) override;
    std::optional<ipc::lease_handles_reply>
    lease_handles(const ipc::lease_handles_request& req) override;
    void lease_close(uint64_t open) override;
    void lease_write(uint64_t open, const std::string& file) override;
    // Set before start(): where lease breaks and releases go.
    void on_lease_notice(lease_notice_handler h) { _lease_notice = std::move(h); }

    // poller: delivers the replies waiting in the ring to their callers.
    unsigned poll() override;
    int wait_fd() override { return _wake_dataplane_fd; }
    void after_sleep() override;
    std::optional<ipc::share_enum_reply> enum_shares();

private:
    std::optional<bytes> call(uint64_t id, const bytes& message);
    uint64_t next_id();
    // A request whose reply is a plain-field message (ipc_fields.hh).
    template <typename Reply, typename Request> std::optional<Reply> ask(const Request& req) {
        uint64_t id = next_id();
        auto reply = call(id, ipc::encode_fields(id, req));
        return reply ? ipc::decode_fields<Reply>(*reply) : std::nullopt;
    }
    bool send(const bytes& message);
    void receive_loop();
    unsigned drain(); // the ring's messages to their callers; how many

    control_channel& _channel;
    int _wake_control_fd;
    int _wake_dataplane_fd;
    status_provider _status;
    lease_notice_handler _lease_notice;
    std::mutex _mutex;
    std::condition_variable _cv;
    std::map<uint64_t, std::optional<bytes>> _pending;
    uint64_t _next_id = 1;
    bool _stopping = false;
    std::thread _receiver;
    std::chrono::milliseconds _timeout{10000};
};

} // namespace smbx
