#include "control/auth/spnego.hh"

#include <algorithm>
#include <string_view>

#include "control/auth/der.hh"

namespace smbx::auth::spnego {

namespace {

bytes to_bytes(byte_span s) {
    return bytes(s.begin(), s.end());
}

// NegTokenInit ::= SEQUENCE { mechTypes [0], reqFlags [1], mechToken [2], mechListMIC [3] }
// (RFC 4178 4.2.1); MS-SPNG's NegTokenInit2 puts negHints at [3] and the MIC at [4]. A
// server has no use for reqFlags, hints or an initial MIC, so those are only skipped.
std::optional<neg_token_init> parse_init(der::reader& outer) {
    auto seq = outer.expect(der::tag_sequence);
    if (!seq) {
        return std::nullopt;
    }
    der::reader fields = outer.enter(*seq);
    neg_token_init init;
    int last = -1;
    bool have_mechs = false;
    while (!fields.at_end()) {
        auto f = fields.next();
        if (!f || f->tag < der::context(0) || f->tag > der::context(4)) {
            return std::nullopt;
        }
        int n = f->tag - der::context(0);
        if (n <= last) {
            return std::nullopt; // fields appear once each, in order
        }
        last = n;
        der::reader inner = fields.enter(*f);
        if (n == 0) {
            auto list = inner.expect(der::tag_sequence);
            if (!list) {
                return std::nullopt;
            }
            init.mech_types_der = to_bytes(list->encoding);
            der::reader oids = inner.enter(*list);
            while (!oids.at_end()) {
                auto oid = oids.expect(der::tag_oid);
                if (!oid) {
                    return std::nullopt;
                }
                init.mech_types.push_back(to_bytes(oid->content));
            }
            if (!oids.ok()) {
                return std::nullopt;
            }
            have_mechs = true;
        } else if (n == 2) {
            auto tok = inner.expect(der::tag_octet_string);
            if (!tok) {
                return std::nullopt;
            }
            init.mech_token = to_bytes(tok->content);
        } else if (!inner.next()) {
            return std::nullopt;
        }
        if (!inner.ok() || !inner.at_end()) {
            return std::nullopt;
        }
    }
    if (!fields.ok() || !have_mechs || init.mech_types.empty()) {
        return std::nullopt;
    }
    return init;
}

// NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED, supportedMech [1] OID,
//     responseToken [2] OCTET STRING, mechListMIC [3] OCTET STRING } (RFC 4178 4.2.2)
std::optional<neg_token_resp> parse_resp(der::reader& outer) {
    auto seq = outer.expect(der::tag_sequence);
    if (!seq) {
        return std::nullopt;
    }
    der::reader fields = outer.enter(*seq);
    neg_token_resp resp;
    int last = -1;
    while (!fields.at_end()) {
        auto f = fields.next();
        if (!f || f->tag < der::context(0) || f->tag > der::context(3)) {
            return std::nullopt;
        }
        int n = f->tag - der::context(0);
        if (n <= last) {
            return std::nullopt;
        }
        last = n;
        der::reader inner = fields.enter(*f);
        static constexpr uint8_t types[] = {der::tag_enumerated, der::tag_oid,
                                            der::tag_octet_string, der::tag_octet_string};
        auto v = inner.expect(types[n]);
        if (!v || !inner.at_end()) {
            return std::nullopt;
        }
        if (n == 0) {
            if (v->content.size() != 1 || v->content[0] > uint8_t(neg_state::request_mic)) {
                return std::nullopt;
            }
            resp.state = neg_state(v->content[0]);
        } else if (n == 1) {
            resp.supported_mech = to_bytes(v->content);
        } else if (n == 2) {
            resp.response_token = to_bytes(v->content);
        } else {
            resp.mech_list_mic = to_bytes(v->content);
        }
    }
    if (!fields.ok()) {
        return std::nullopt;
    }
    return resp;
}

bytes wrap(uint8_t tag, const bytes& content) {
    return der::encode(tag, content);
}

} // namespace

std::optional<token> parse(byte_span data) {
    der::reader top(data);
    auto first = top.next();
    if (!first || !top.at_end()) {
        return std::nullopt;
    }
    der::reader body = top.enter(*first);
    if (first->tag == der::tag_application_0) {
        // InitialContextToken ::= [APPLICATION 0] { thisMech OID, innerToken } (RFC 2743 3.1)
        auto mech = body.expect(der::tag_oid);
        if (!mech || !std::equal(mech->content.begin(), mech->content.end(), oid_spnego.begin(),
                                 oid_spnego.end())) {
            return std::nullopt;
        }
        auto inner = body.expect(der::context(0));
        if (!inner || !body.at_end()) {
            return std::nullopt;
        }
        der::reader init_body = body.enter(*inner);
        auto init = parse_init(init_body);
        if (!init || !init_body.at_end()) {
            return std::nullopt;
        }
        return token{std::move(*init)};
    }
    if (first->tag == der::context(0)) {
        auto init = parse_init(body);
        if (!init || !body.at_end()) {
            return std::nullopt;
        }
        return token{std::move(*init)};
    }
    if (first->tag == der::context(1)) {
        auto resp = parse_resp(body);
        if (!resp || !body.at_end()) {
            return std::nullopt;
        }
        return token{std::move(*resp)};
    }
    return std::nullopt;
}

bytes encode_mech_types(const std::vector<bytes>& oids) {
    bytes list;
    for (const auto& oid : oids) {
        der::put(list, der::tag_oid, oid);
    }
    return wrap(der::tag_sequence, list);
}

bytes encode(const neg_token_init& init) {
    bytes fields = wrap(der::context(0), encode_mech_types(init.mech_types));
    if (init.mech_token) {
        der::put(fields, der::context(2), wrap(der::tag_octet_string, *init.mech_token));
    }
    bytes body = der::encode(der::tag_oid, oid_spnego);
    der::put(body, der::context(0), wrap(der::tag_sequence, fields));
    return wrap(der::tag_application_0, body);
}

bytes encode(const neg_token_resp& resp) {
    bytes fields;
    if (resp.state) {
        uint8_t v = uint8_t(*resp.state);
        der::put(fields, der::context(0), der::encode(der::tag_enumerated, byte_span(&v, 1)));
    }
    if (resp.supported_mech) {
        der::put(fields, der::context(1), wrap(der::tag_oid, *resp.supported_mech));
    }
    if (resp.response_token) {
        der::put(fields, der::context(2), wrap(der::tag_octet_string, *resp.response_token));
    }
    if (resp.mech_list_mic) {
        der::put(fields, der::context(3), wrap(der::tag_octet_string, *resp.mech_list_mic));
    }
    return wrap(der::context(1), wrap(der::tag_sequence, fields));
}

bytes encode_negotiate_hint() {
    // Windows and Samba send this fixed hintName; clients ignore it (MS-SPNG 3.2.5.2).
    static constexpr std::string_view hint = "not_defined_in_RFC4178@please_ignore";
    auto hint_bytes = byte_span(reinterpret_cast<const uint8_t*>(hint.data()), hint.size());
    bytes hints = wrap(der::context(0), der::encode(der::tag_general_string, hint_bytes));
    bytes fields = wrap(der::context(0), encode_mech_types({to_bytes(oid_ntlmssp)}));
    der::put(fields, der::context(3), wrap(der::tag_sequence, hints));
    bytes body = der::encode(der::tag_oid, oid_spnego);
    der::put(body, der::context(0), wrap(der::tag_sequence, fields));
    return wrap(der::tag_application_0, body);
}

} // namespace smbx::auth::spnego
