#include "dataplane/smb2/request_checks.hh"

#include <algorithm>

#include "common/log.hh"

namespace smbx::smb2 {

bool check_message_id(connection& conn, const header& h) {
    if (h.flags & flag_server_to_redir) {
        return false;
    }
    // Before NEGOTIATE only NEGOTIATE is valid, and a second one ends the connection.
    if (conn.negotiated == (h.cmd == command::negotiate)) {
        return false;
    }
    if (h.cmd != command::cancel && !conn.credits.consume(h.message_id, h.credit_charge)) {
        LOG_WARN("%s: MessageId %llu outside the credit window; disconnecting",
                 conn.client_address.c_str(), static_cast<unsigned long long>(h.message_id));
        return false;
    }
    return true;
}

uint32_t check_structure_size(byte_span message, uint16_t expected) {
    byte_reader b(message);
    b.seek(header_size);
    uint16_t size = b.u16();
    if (!b.ok() || (expected && size != expected)) {
        return status::invalid_parameter;
    }
    return status::success;
}

session_check check_session(connection& conn, const request& req, uint8_t needs,
                            bool related_without_session) {
    const header& h = req.hdr;
    session_check out;
    if (related_without_session) {
        out.status = status::invalid_parameter;
        return out;
    }
    bool wanted =
        (needs & session_needed) || (h.cmd == command::echo && h.session_id != 0 && !req.encrypted);
    if (wanted) {
        out.sess = conn.find_session(h.session_id);
        if (!out.sess) {
            out.status = status::user_session_deleted;
        } else if (out.sess->st != session::state::valid && h.cmd != command::logoff &&
                   h.cmd != command::close && h.cmd != command::lock) {
            out.status = out.sess->st == session::state::expired ? status::network_session_expired
                                                                 : status::user_session_deleted;
        }
    } else if (h.cmd == command::session_setup && h.session_id != 0) {
        out.sess = conn.find_session(h.session_id); // re-authentication
    }
    return out;
}

bool check_transform_session(const request& req, const session* sess, uint64_t transform_session) {
    return !(req.encrypted && sess && sess->id != transform_session);
}

std::shared_ptr<session> binding_target_of(connection& conn, const request& req,
                                           const session* sess) {
    const header& h = req.hdr;
    // SESSION_SETUP's Flags (2.2.5) byte: SMB2_SESSION_FLAG_BINDING.
    if (h.cmd == command::session_setup && !sess && h.session_id != 0 && h.is_signed() &&
        req.message.size() > header_size + 2 && (req.message[header_size + 2] & 0x01)) {
        return conn.all_sessions->find(h.session_id);
    }
    return nullptr;
}

signature_check check_signature(connection& conn, const request& req, session* sess,
                                const session* binding_target) {
    const header& h = req.hdr;
    signature_check out;
    if (h.cmd == command::negotiate) {
        if (h.is_signed()) {
            out.status = status::invalid_parameter;
        }
        return out;
    }
    if (req.encrypted) {
        return out;
    }
    if (h.is_signed()) {
        session* key_owner = sess ? sess : conn.find_session(h.session_id);
        if (!key_owner && binding_target) {
            if (!binding_target->signing_key.empty() &&
                crypto::verify_signature(binding_target->signing_alg, binding_target->signing_key,
                                         req.message)) {
                out.binding_verified = true;
            } else {
                LOG_WARN("%s: bad signature on a binding request", conn.client_address.c_str());
                out.status = status::access_denied;
            }
        } else if (!key_owner || key_owner->signing_key.empty()) {
            if (!key_owner && h.cmd != command::session_setup) {
                out.status = status::user_session_deleted;
            }
        } else if (!crypto::verify_signature(conn.signing_alg, conn.signing_key_of(*key_owner),
                                             req.message)) {
            LOG_WARN("%s: bad signature on %s request", conn.client_address.c_str(), "SMB2");
            out.status = status::access_denied;
        }
    } else if (sess && sess->st == session::state::valid && sess->signing_required &&
               h.cmd != command::session_setup && h.cmd != command::echo) {
        out.status = status::access_denied;
    }
    return out;
}

uint32_t check_tree(connection& conn, request& req, uint8_t needs) {
    if (!req.sess || !(needs & 2)) {
        return status::success;
    }
    req.tree_ref = conn.find_tree(*req.sess, req.hdr.tree_id);
    req.tree = req.tree_ref.get();
    return req.tree ? status::success : status::network_name_deleted;
}

uint32_t check_encryption(const connection& conn, const request& req) {
    const header& h = req.hdr;
    bool required =
        (req.sess && req.sess->encrypt_data) || (req.tree && req.tree->encrypt_required());
    if (!req.encrypted && conn.is_smb3() && h.cmd != command::negotiate &&
        h.cmd != command::session_setup && required) {
        return status::access_denied;
    }
    return status::success;
}

uint32_t check_credit_charge(const connection& conn, const header& h, uint32_t payload) {
    if (!conn.large_mtu()) {
        return status::success;
    }
    uint32_t needed = payload ? (payload - 1) / 65536 + 1 : 1;
    return std::max<uint16_t>(h.credit_charge, 1) < needed ? status::invalid_parameter
                                                           : status::success;
}

} // namespace smbx::smb2
