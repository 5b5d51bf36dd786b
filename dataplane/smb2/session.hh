// Session and tree connect state (MS-SMB2 3.3.1.8, 3.3.1.9). A session is shared by
// every connection bound to it (multichannel, 3.3.5.5.2), which may live on different
// workers: its identity and keys are written while it is being set up on its first
// connection and only read once it is valid; its tree connects and opens are behind a
// mutex held for the table operation alone. Requests do not take it: each connection
// remembers what it looked up (connection::find_open / find_tree), so the mutex is
// taken when an open or tree is created, closed, or first used on a connection.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/ipc_messages.hh"
#include "dataplane/smb2/crypto.hh"
#include "dataplane/smb2/open_handle.hh"

namespace smbx::smb2 {

struct tree_connect {
    uint32_t id = 0;
    ipc::share_info share;
    uint32_t maximal_access = 0;
    bool is_ipc() const { return share.type == ipc::share_type::ipc; }
    bool encrypt_required() const { return share.encrypt_required; }
    bool read_only() const { return share.read_only; }
    std::atomic<bool> disconnected{false}; // left its session's table (TREE_DISCONNECT)
};

struct session {
    enum class state { in_progress, valid, expired };

    uint64_t id = 0;
    std::atomic<state> st{state::in_progress};
    std::atomic<bool> logged_off{false}; // ended; each channel drops it after its reply
    uint64_t auth_id = 0;                // control plane's authentication context while in progress
    std::string user;
    std::string domain;
    bool guest = false;
    bool anonymous = false;

    bytes session_key;    // 16 bytes from NTLMSSP
    bytes signing_key;    // the first channel's (3.3.1.8 Session.SigningKey)
    bytes encryption_key; // server -> client, every channel
    bytes decryption_key; // client -> server, every channel
    bytes application_key;
    bool signing_required = false;
    bool encrypt_data = false; // every message of this session is encrypted
    crypto::preauth_hash preauth{};

    // What a channel binding must match (3.3.5.5: Session.Connection's values).
    uint16_t dialect = 0;
    std::array<uint8_t, 16> client_guid{};
    std::string client_address; // of the first channel, for status
    cipher cipher_id = cipher::none;
    signing_algorithm signing_alg = signing_algorithm::hmac_sha256;
    // Connections that hold the session (3.3.1.8 ChannelList, counted): the session
    // ends with its last channel.
    std::atomic<uint32_t> channels{0};

    // Tree connects (3.3.1.8 TreeConnectTable). `t->id` is set by the caller.
    uint32_t new_tree_id();
    void add_tree(std::shared_ptr<tree_connect> t);
    std::shared_ptr<tree_connect> find_tree(uint32_t id) const;
    void remove_tree(uint32_t id);
    std::vector<std::shared_ptr<tree_connect>> trees() const;

    // Opens (3.3.1.8 OpenTable). Volatile ids are unique in the whole server, so a
    // FileId names one open whichever channel it arrives on.
    file_id add_open(std::shared_ptr<open_handle> h);
    std::shared_ptr<open_handle> find_open(const file_id& id) const;
    std::shared_ptr<open_handle> remove_open(const file_id& id);
    // Removes the opens of one tree connect (0: of every tree) and returns them: the
    // caller ends what waits on them, then dropping them releases their files.
    std::vector<std::shared_ptr<open_handle>> take_opens(uint32_t tree_id);
    std::vector<std::shared_ptr<open_handle>> opens() const;

private:
    mutable std::mutex _mutex;
    std::map<uint32_t, std::shared_ptr<tree_connect>> _trees;
    uint32_t _next_tree_id = 1;
    std::map<uint64_t, std::shared_ptr<open_handle>> _opens;
};

// Every session of the server by SessionId (3.3.1.5 GlobalSessionTable): how a
// connection on any worker finds the session a binding names. Only SESSION_SETUP and
// a session's end touch it; requests find their session in their connection's table.
class session_table {
public:
    // Gives `s` a fresh random id (never 0 or all ones) and registers it.
    void add_new(const std::shared_ptr<session>& s);
    std::shared_ptr<session> find(uint64_t id) const;
    void remove(uint64_t id);
    size_t size() const;
    // Every session, for status: listed without touching any connection.
    std::vector<std::shared_ptr<session>> all() const;

private:
    mutable std::mutex _mutex;
    std::map<uint64_t, std::shared_ptr<session>> _sessions;
};

} // namespace smbx::smb2
