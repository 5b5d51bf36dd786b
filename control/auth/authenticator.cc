// SESSION_SETUP authentication: SPNEGO (MS-SPNG 3.2.5, RFC 4178) around NTLMSSP, or raw
// NTLMSSP for clients that skip SPNEGO.
#include "control/auth/authenticator.hh"

#include <algorithm>
#include <exception>

#include "common/log.hh"
#include "common/ntstatus.hh"
#include "control/auth/ntlmssp.hh"
#include "control/auth/spnego.hh"

namespace smbx::auth {

namespace {

constexpr size_t max_exchanges = 4096;

bytes ntlmssp_oid() {
    return bytes(spnego::oid_ntlmssp.begin(), spnego::oid_ntlmssp.end());
}

ipc::auth_reply failure(uint32_t status) {
    ipc::auth_reply r;
    r.status = status;
    return r;
}

ipc::auth_reply more(bytes blob) {
    ipc::auth_reply r;
    r.status = status::more_processing_required;
    r.blob = std::move(blob);
    return r;
}

} // namespace

class exchange {
public:
    exchange(const auth_policy& policy, const hash_lookup& lookup) : _ntlm(policy, lookup) {}

    ipc::auth_reply step(byte_span blob) {
        if (_phase == phase::start) {
            return first(blob);
        }
        if (_raw) {
            return raw_authenticate(blob);
        }
        auto tok = spnego::parse(blob);
        if (!tok || !std::holds_alternative<spnego::neg_token_resp>(*tok)) {
            return failure(status::invalid_parameter);
        }
        auto& resp = std::get<spnego::neg_token_resp>(*tok);
        if (resp.state == spnego::neg_state::reject) {
            return failure(status::logon_failure);
        }
        if (!resp.response_token) {
            return failure(status::invalid_parameter);
        }
        if (_phase == phase::await_negotiate) {
            return spnego_challenge(*resp.response_token, std::nullopt);
        }
        return spnego_authenticate(*resp.response_token, resp.mech_list_mic);
    }

private:
    enum class phase { start, await_negotiate, await_authenticate };

    ipc::auth_reply first(byte_span blob) {
        if (blob.empty()) {
            // A client that waits for the server to start gets the negTokenInit2.
            return more(spnego_negotiate_token());
        }
        if (ntlm::peek_type(blob)) {
            _raw = true;
            auto challenge = _ntlm.negotiate(blob);
            if (!challenge) {
                return failure(status::invalid_parameter);
            }
            _phase = phase::await_authenticate;
            return more(std::move(*challenge));
        }
        auto tok = spnego::parse(blob);
        if (!tok || !std::holds_alternative<spnego::neg_token_init>(*tok)) {
            return failure(status::invalid_parameter);
        }
        auto& init = std::get<spnego::neg_token_init>(*tok);
        auto oid = ntlmssp_oid();
        auto it = std::find(init.mech_types.begin(), init.mech_types.end(), oid);
        if (it == init.mech_types.end()) {
            // Nothing we can do: RFC 4178 3.2 (d) ends the negotiation.
            LOG_INFO("spnego: client offers no NTLMSSP");
            return failure(status::logon_failure);
        }
        _mech_types_der = std::move(init.mech_types_der);
        if (it == init.mech_types.begin() && init.mech_token) {
            return spnego_challenge(*init.mech_token, spnego::neg_state::accept_incomplete);
        }
        // NTLMSSP is not the client's first choice (its optimistic token, if any, is for
        // another mechanism): name NTLMSSP and wait for its NEGOTIATE. Choosing other than
        // the preferred mechanism makes the mechListMIC mandatory (RFC 4178 5, MS-SPNG
        // 3.3.5.1).
        _mic_required = it != init.mech_types.begin();
        spnego::neg_token_resp resp;
        resp.state =
            _mic_required ? spnego::neg_state::request_mic : spnego::neg_state::accept_incomplete;
        resp.supported_mech = oid;
        _phase = phase::await_negotiate;
        return more(spnego::encode(resp));
    }

    ipc::auth_reply spnego_challenge(byte_span token, std::optional<spnego::neg_state> state) {
        auto challenge = _ntlm.negotiate(token);
        if (!challenge) {
            return failure(status::invalid_parameter);
        }
        spnego::neg_token_resp resp;
        // The first reply names the mechanism (RFC 4178 4.2.2); later ones need not.
        if (state) {
            resp.state = state;
            resp.supported_mech = ntlmssp_oid();
        } else {
            resp.state = spnego::neg_state::accept_incomplete;
        }
        resp.response_token = std::move(*challenge);
        _phase = phase::await_authenticate;
        return more(spnego::encode(resp));
    }

    ipc::auth_reply raw_authenticate(byte_span token) {
        uint32_t st = _ntlm.authenticate(token);
        if (st != status::success) {
            return failure(st);
        }
        return success({});
    }

    ipc::auth_reply spnego_authenticate(byte_span token, const std::optional<bytes>& mic) {
        uint32_t st = _ntlm.authenticate(token);
        if (st != status::success) {
            return failure(st);
        }
        spnego::neg_token_resp resp;
        resp.state = spnego::neg_state::accept_completed;
        const auto& id = _ntlm.result();
        // Guest and anonymous logons have no key to sign with (MS-SPNG 3.3.5.1).
        if (!id.guest && !id.anonymous) {
            if (mic) {
                if (!_ntlm.verify_client_mic(_mech_types_der, *mic)) {
                    LOG_INFO("spnego: mechListMIC mismatch for '%s'", id.user.c_str());
                    return failure(status::logon_failure);
                }
                resp.mech_list_mic = _ntlm.server_mic(_mech_types_der);
            } else if (_mic_required) {
                LOG_INFO("spnego: mechListMIC required but missing for '%s'", id.user.c_str());
                return failure(status::logon_failure);
            }
        }
        return success(spnego::encode(resp));
    }

    ipc::auth_reply success(bytes blob) {
        const auto& id = _ntlm.result();
        ipc::auth_reply r;
        r.status = status::success;
        r.blob = std::move(blob);
        r.session_key = id.session_key;
        r.guest = id.guest;
        r.anonymous = id.anonymous;
        // Guest and anonymous sessions carry no identity of the client's choosing.
        if (!id.guest && !id.anonymous) {
            r.user = id.user;
            r.domain = id.domain;
        }
        return r;
    }

    ntlm::server _ntlm;
    phase _phase = phase::start;
    bool _raw = false;
    bool _mic_required = false;
    bytes _mech_types_der;
};

authenticator::authenticator(auth_policy policy, hash_lookup lookup)
    : _policy(std::move(policy)), _lookup(std::move(lookup)) {}

authenticator::~authenticator() = default;

ipc::auth_reply authenticator::step(const ipc::auth_request& req) {
    uint64_t id = req.auth_id;
    if (id == 0) {
        // Bounded: the oldest pending exchange (lowest id) makes room.
        while (_exchanges.size() >= max_exchanges) {
            _exchanges.erase(_exchanges.begin());
        }
        id = _next_id++;
        _exchanges.emplace(id, std::make_unique<exchange>(_policy, _lookup));
    }
    auto it = _exchanges.find(id);
    if (it == _exchanges.end()) {
        auto r = failure(status::logon_failure);
        r.auth_id = id;
        return r;
    }
    ipc::auth_reply r;
    try {
        r = it->second->step(req.blob);
    } catch (const std::exception& e) {
        LOG_ERROR("auth: exchange %llu failed: %s", (unsigned long long)id, e.what());
        r = failure(status::logon_failure);
    }
    r.auth_id = id;
    if (r.status != status::more_processing_required) {
        _exchanges.erase(id);
    }
    LOG_DEBUG("auth: exchange %llu from %s: status 0x%08x", (unsigned long long)id,
              req.client_address.c_str(), r.status);
    return r;
}

void authenticator::abandon(uint64_t auth_id) {
    _exchanges.erase(auth_id);
}

bytes spnego_negotiate_token() {
    return spnego::encode_negotiate_hint();
}

} // namespace smbx::auth
