// Binds the transports to the SMB2 engine: each connection gets its SMB2 state and a
// strand on the request executor; messages are processed in arrival order on that
// strand and the replies go back through the connection's transport.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "common/control_channel.hh"
#include "common/ipc_messages.hh"
#include "dataplane/control_client.hh"
#include "dataplane/request_executor.hh"
#include "dataplane/runtime/transport.hh"
#include "dataplane/smb2/connection.hh"
#include "dataplane/smb2/dispatch.hh"
#include "dataplane/smb2/lease_router.hh"

namespace smbx {

class smb_server final : public transport_events {
public:
    // `executors`: one per worker, by worker index; a connection's strand runs on the
    // executor of the worker it is accepted on (one executor serves all if only one).
    smb_server(const dataplane_settings& settings, control_client& control,
               std::vector<request_executor*> executors)
        : _settings(settings), _control(control), _executors(std::move(executors)) {}
    smb_server(const dataplane_settings& settings, control_client& control,
               request_executor& executor)
        : smb_server(settings, control, std::vector<request_executor*>{&executor}) {}

    void on_connect(const std::shared_ptr<transport_connection>& conn) override;
    void on_message(const std::shared_ptr<transport_connection>& conn, pool_buffer msg) override;
    void on_disconnect(const std::shared_ptr<transport_connection>& conn) override;

    // For `smbxctl status`: sessions and opens of every connection.
    ipc::status_reply status();
    // A break or release from the oplock and lease arbiter (control_client's notice
    // handler, on the thread that polls the control ring).
    void on_lease_notice(const bytes& message) { _leases->on_notice(message); }

private:
    struct client {
        std::shared_ptr<request_executor::strand> strand;
        std::mutex state_mutex; // held while a message is processed, and by status()
        std::unique_ptr<smb2::connection> state;
        bool closed = false;
    };

    bool process_on_worker(const std::shared_ptr<client>& c,
                           const std::shared_ptr<transport_connection>& conn, pool_buffer& msg,
                           smb2::message_plan& plan);
    static void finish_suspended(const std::shared_ptr<client>& c,
                                 const std::shared_ptr<transport_connection>& conn,
                                 const std::shared_ptr<smb2::suspended_request>& s);

    const dataplane_settings& _settings;
    control_client& _control;
    // Every session, whichever worker's connection set it up (multichannel binding).
    std::shared_ptr<smb2::session_table> _sessions = std::make_shared<smb2::session_table>();
    // Every open's oplock and lease routing, whichever worker's connection holds it.
    std::shared_ptr<smb2::lease_router> _leases = std::make_shared<smb2::lease_router>(_control);
    request_executor& executor_here() const;

    const std::vector<request_executor*> _executors;
    std::mutex _clients_mutex;
    std::map<const transport_connection*, std::shared_ptr<client>> _clients;
};

} // namespace smbx
