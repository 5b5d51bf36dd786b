// Per-connection SMB2 state (MS-SMB2 3.3.1.7): negotiated dialect and algorithms and
// the sessions this connection is a channel of. One connection's requests are
// processed one chain at a time (a strand), so handlers touch this state without
// locks; sessions (and their tree connects and opens) are shared with the session's
// other channels (session.hh).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/control_channel.hh"
#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/smb2/async_ops.hh"
#include "dataplane/smb2/credit_window.hh"
#include "dataplane/smb2/notify_state.hh"
#include "dataplane/smb2/open_handle.hh"
#include "dataplane/smb2/session.hh"

namespace smbx {
class control_client;
class transport_connection;
} // namespace smbx

namespace smbx::smb2 {

class lease_router;
struct waiting_create;

class connection {
public:
    connection(const dataplane_settings& settings, control_client& control, std::string client)
        : settings(settings), control(control), client_address(std::move(client)) {}
    ~connection();

    const dataplane_settings& settings;
    control_client& control;
    const std::string client_address;
    // The connection when its transport has the RDMA operations (SMB Direct: READ and
    // WRITE with an RDMA channel, read_write.cc); null on TCP. Set by smb_server.
    std::shared_ptr<transport_connection> rdma;

    // Negotiated state
    bool negotiated = false;
    uint16_t dialect = 0;
    uint32_t client_capabilities = 0;
    uint32_t server_capabilities = 0;
    uint16_t client_security_mode = 0;
    std::array<uint8_t, 16> client_guid{};
    cipher cipher_id = cipher::none;
    signing_algorithm signing_alg = signing_algorithm::hmac_sha256;
    crypto::preauth_hash preauth{};            // connection PreauthIntegrityHashValue (3.1.1)
    std::array<uint16_t, 8> client_dialects{}; // for VALIDATE_NEGOTIATE_INFO
    uint16_t client_dialect_count = 0;
    bool signing_required_by_server = false;
    credit_window credits;

    static constexpr uint32_t max_transact_size = 8 * 1024 * 1024;
    static constexpr uint32_t max_read_size = 8 * 1024 * 1024;
    static constexpr uint32_t max_write_size = 8 * 1024 * 1024;

    bool is_smb3() const { return dialect >= 0x0300; }
    bool large_mtu() const { return dialect >= 0x0210; }

    // Every session of the server (3.3.1.5 GlobalSessionTable), for binding. Each
    // connection has its own until smb_server gives them one to share.
    std::shared_ptr<session_table> all_sessions = std::make_shared<session_table>();
    // Whether SESSION_SETUP may bind this connection to a session (multichannel).
    bool multichannel = true;

    // This connection's sessions (3.3.1.7 SessionTable): the shared session and this
    // channel's signing key (3.3.1.8 Channel.SigningKey; empty on the session's first
    // connection, which signs with Session.SigningKey).
    struct channel {
        std::shared_ptr<session> sess;
        bytes signing_key;
    };
    std::map<uint64_t, channel> sessions;
    bool has_valid_session() const {
        for (auto& [id, ch] : sessions) {
            if (ch.sess->st == session::state::valid) {
                return true;
            }
        }
        return false;
    }
    session* find_session(uint64_t id) {
        auto it = sessions.find(id);
        return it == sessions.end() ? nullptr : it->second.sess.get();
    }
    // The key this connection signs and verifies a session's messages with.
    const bytes& signing_key_of(const session& s) const;
    // A session set up on this connection: registered server-wide with a fresh id.
    session& add_new_session();
    // Makes this connection a channel of `s` (a binding, or a test's ready session).
    void add_channel(std::shared_ptr<session> s, bytes signing_key = {});
    // Leaves a session: its opens close when it was logged off or this was its last
    // channel, and it leaves the server's table.
    void remove_session(uint64_t id);
    // Ends a session wherever it is bound: it leaves the server's table, its opens
    // close (LOGOFF, a failed re-authentication, a reconnect naming it as previous).
    void end_session(session& s);
    // Sessions ended through another channel (LOGOFF there) leave this connection too.
    void drop_ended_sessions();
    // A binding in progress on this connection (3.3.5.5, 3.3.1.15 PreauthSessionTable).
    struct binding {
        std::shared_ptr<session> sess;
        uint64_t auth_id = 0;
        crypto::preauth_hash preauth{};
    };
    std::map<uint64_t, binding> bindings;

    // Opens of this connection's sessions; TREE_DISCONNECT, LOGOFF and CLOSE end the
    // CHANGE_NOTIFYs waiting on them here (3.3.5.19).
    file_id add_open(session& s, std::shared_ptr<open_handle> h) {
        return s.add_open(std::move(h));
    }
    std::shared_ptr<open_handle> find_open(uint64_t session_id, const file_id& id);
    // The request path's lookups, without the session's mutex once this connection has
    // seen the open or tree: it keeps weak references to what it found, and drops
    // those that were closed or disconnected meanwhile (on any channel).
    std::shared_ptr<open_handle> find_open(session& s, const file_id& id);
    std::shared_ptr<tree_connect> find_tree(session& s, uint32_t id);
    void remove_open(session& s, const file_id& id);
    void close_opens_of(session& s, uint32_t tree_id /* 0: all trees */);

    // Asynchronous requests (3.3.1.7 AsyncCommandList) and the CHANGE_NOTIFY state of
    // directory opens, by volatile id.
    async_table async_ops;
    std::map<uint64_t, std::unique_ptr<notify_state>> notifies;
    // Final responses of asynchronous requests, ready to send (complete_async()).
    std::vector<bytes> outbox;
    std::vector<bytes> take_outbox() { return std::exchange(outbox, {}); }
    // Runs `fn` later on this connection's strand, from any thread, then sends the
    // outbox; how a completion seen on another thread (a directory change) gets back
    // to the connection. Set by smb_server; empty in tests that drive the engine alone.
    using strand_task = std::function<void(connection&)>;
    std::function<void(strand_task)> run_on_strand;

    // Oplock and lease arbitration (lease_router.hh), shared by the data plane's
    // connections; null when the server grants neither (engine tests, `smb2 leases` and
    // `oplocks` off), and then CREATE asks nothing.
    std::shared_ptr<lease_router> leases;
    // CREATEs gone asynchronous until breaks they caused are acknowledged, by AsyncId
    // (create.cc); dropped with the connection, which closes their opens.
    std::map<uint64_t, std::shared_ptr<waiting_create>> waiting_creates;

private:
    std::unordered_map<uint64_t, std::weak_ptr<open_handle>> _seen_opens; // by volatile id
    std::map<std::pair<uint64_t, uint32_t>, std::weak_ptr<tree_connect>> _seen_trees;
};

} // namespace smbx::smb2
