// Per-connection SMB2 state (MS-SMB2 3.3.1.7): negotiated dialect and algorithms,
// sessions, and the table of opens. One connection's requests are processed one chain
// at a time (a strand), so handlers touch this state without locks.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
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
namespace rdma {
class rdma_channel;
}
} // namespace smbx

namespace smbx::smb2 {

class connection {
public:
    connection(const dataplane_settings& settings, control_client& control, std::string client)
        : settings(settings), control(control), client_address(std::move(client)) {}
    ~connection();

    const dataplane_settings& settings;
    control_client& control;
    const std::string client_address;
    // The transport's RDMA operations when this is an SMB Direct connection (READ and
    // WRITE with an RDMA channel, read_write.cc); null on TCP. Set by smb_server.
    std::shared_ptr<rdma::rdma_channel> rdma;

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

    // Sessions
    std::map<uint64_t, std::unique_ptr<session>> sessions;
    session* find_session(uint64_t id) {
        auto it = sessions.find(id);
        return it == sessions.end() ? nullptr : it->second.get();
    }
    void remove_session(uint64_t id);

    // Opens: volatile id -> open. Persistent ids equal volatile ids (no durable handles yet).
    file_id add_open(std::shared_ptr<open_handle> h);
    std::shared_ptr<open_handle> find_open(const file_id& id) const;
    void remove_open(const file_id& id);
    void close_opens_of(uint64_t session_id, uint32_t tree_id /* 0: all trees */);
    const std::map<uint64_t, std::shared_ptr<open_handle>>& opens() const { return _opens; }

    // Asynchronous requests (3.3.1.7 AsyncCommandList) and the CHANGE_NOTIFY state of
    // directory opens, by volatile id.
    async_table async_ops;
    std::map<uint64_t, std::unique_ptr<notify_state>> notifies;
    // Final responses of asynchronous requests, ready to send (complete_async()).
    std::vector<bytes> outbox;
    // READ data a worker fetched from the page cache before processing the request on
    // its own thread (prefetch_read(), read_write.cc); handle_read takes it when the
    // request is the one it was fetched for.
    struct prefetched_read {
        int fd = -1;
        uint64_t offset = 0;
        uint32_t length = 0;
        pool_buffer data;
    } prefetched;
    std::vector<bytes> take_outbox() { return std::exchange(outbox, {}); }
    // Runs `fn` later on this connection's strand, from any thread, then sends the
    // outbox; how a completion seen on another thread (a directory change) gets back
    // to the connection. Set by smb_server; empty in tests that drive the engine alone.
    using strand_task = std::function<void(connection&)>;
    std::function<void(strand_task)> run_on_strand;

private:
    std::map<uint64_t, std::shared_ptr<open_handle>> _opens;
    uint64_t _next_volatile_id = 1;
};

} // namespace smbx::smb2
