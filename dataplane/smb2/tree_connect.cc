// SMB2 TREE_CONNECT and TREE_DISCONNECT (MS-SMB2 3.3.5.7, 3.3.5.8; wire 2.2.9-2.2.12).
// The control plane owns the share table and decides who may connect.
#include "common/log.hh"
#include "dataplane/control_client.hh"
#include "dataplane/smb2/handlers.hh"

namespace smbx::smb2 {

namespace {

constexpr uint32_t access_full = 0x001F01FF;      // all file rights (2.2.13.1.1)
constexpr uint32_t access_read_only = 0x001200A9; // FILE_GENERIC_READ | FILE_EXECUTE

// "\\server\share" -> "share"; empty when the path has another shape.
std::string share_name_of(const std::string& unc) {
    if (unc.size() < 3 || unc[0] != '\\' || unc[1] != '\\') {
        return {};
    }
    size_t slash = unc.find('\\', 2);
    if (slash == std::string::npos || slash == 2) {
        return {};
    }
    std::string name = unc.substr(slash + 1);
    if (name.empty() || name.find('\\') != std::string::npos) {
        return {};
    }
    return name;
}

} // namespace

void handle_tree_connect(request& req, response& resp) {
    connection& conn = req.conn;
    // 3.3.5.7: at 3.1.1 a user's TREE_CONNECT must come signed or encrypted (it is
    // what protects the negotiation against downgrade); anything else ends the
    // connection.
    if (conn.dialect == dialect_311 && req.sess && !req.sess->anonymous && !req.sess->guest &&
        !req.hdr.is_signed() && !req.encrypted) {
        resp.disconnect = true;
        return;
    }
    byte_reader r = req.body();
    r.skip(4); // StructureSize, Flags
    uint16_t path_offset = r.u16();
    uint16_t path_length = r.u16();
    byte_reader whole(req.message);
    auto path16 = whole.at(path_offset, path_length);
    std::string path;
    if (!r.ok() || !whole.ok() || !utf16le_to_utf8(path16, path)) {
        resp.fail(status::invalid_parameter);
        return;
    }
    std::string share = share_name_of(path);
    if (share.empty()) {
        resp.fail(status::bad_network_name);
        return;
    }
    ipc::tree_connect_request tr;
    tr.user = req.sess->user;
    tr.guest = req.sess->guest;
    tr.anonymous = req.sess->anonymous;
    tr.share = share;
    auto reply = conn.control.tree_connect(tr);
    if (!reply) {
        resp.fail(status::insufficient_resources);
        return;
    }
    if (reply->status != status::success) {
        resp.fail(reply->status);
        return;
    }
    auto tree = std::make_shared<tree_connect>();
    tree->share = reply->share;
    // A share that must be encrypted refuses sessions that cannot encrypt (3.3.5.7).
    bool can_encrypt = conn.is_smb3() && conn.cipher_id != cipher::none && !req.sess->guest &&
                       !req.sess->anonymous;
    if (tree->encrypt_required() && !can_encrypt) {
        LOG_NOTICE("%s: share %s requires encryption; refused", conn.client_address.c_str(),
                   share.c_str());
        resp.fail(status::access_denied);
        return;
    }
    tree->maximal_access = tree->read_only() ? access_read_only : access_full;
    tree->id = req.sess->new_tree_id();
    req.sess->add_tree(tree);
    req.hdr.tree_id = tree->id;

    uint32_t share_flags = 0;
    if (tree->encrypt_required()) {
        share_flags |= shareflag_encrypt_data;
    }
    if (tree->is_ipc()) {
        share_flags |= shareflag_no_caching;
    }
    auto& w = resp.body;
    w.u16(16);
    w.u8(tree->is_ipc() ? share_type_pipe : share_type_disk);
    w.u8(0);
    w.u32(share_flags);
    w.u32(0); // Capabilities: no DFS, no continuous availability yet
    w.u32(tree->maximal_access);
}

void handle_tree_disconnect(request& req, response& resp) {
    req.conn.close_opens_of(*req.sess, req.tree->id);
    req.sess->remove_tree(req.tree->id);
    resp.body.u16(4);
    resp.body.u16(0);
}

} // namespace smbx::smb2
