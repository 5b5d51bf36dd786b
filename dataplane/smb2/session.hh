// Session and tree connect state (MS-SMB2 3.3.1.8, 3.3.1.9).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/ipc_messages.hh"
#include "dataplane/smb2/crypto.hh"

namespace smbx::smb2 {

struct tree_connect {
    uint32_t id = 0;
    ipc::share_info share;
    uint32_t maximal_access = 0;
    bool is_ipc() const { return share.type == ipc::share_type::ipc; }
    bool encrypt_required() const { return share.encrypt_required; }
    bool read_only() const { return share.read_only; }
};

struct session {
    enum class state { in_progress, valid, expired };

    uint64_t id = 0;
    state st = state::in_progress;
    bool logged_off = false; // removed after the LOGOFF response is sent
    uint64_t auth_id = 0;    // control plane's authentication context while in progress
    std::string user;
    std::string domain;
    bool guest = false;
    bool anonymous = false;

    bytes session_key; // 16 bytes from NTLMSSP
    bytes signing_key;
    bytes encryption_key; // server -> client
    bytes decryption_key; // client -> server
    bytes application_key;
    bool signing_required = false;
    bool encrypt_data = false; // every message of this session is encrypted
    crypto::preauth_hash preauth{};

    std::map<uint32_t, std::shared_ptr<tree_connect>> trees;
    uint32_t next_tree_id = 1;
};

} // namespace smbx::smb2
