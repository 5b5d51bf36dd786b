#include "control/auth/ntlm_client.hh"

#include <algorithm>

#include "control/auth/nt_hash.hh"

namespace smbx::auth::ntlm {

bytes client::start() {
    _negotiate = build_negotiate(opt.flags);
    return _negotiate;
}

std::optional<bytes> client::authenticate(byte_span challenge_msg) {
    auto chal = parse_challenge(challenge_msg);
    if (!chal) {
        return std::nullopt;
    }
    uint32_t flags = chal->flags & opt.flags;
    bytes user = utf16le(opt.user), domain = utf16le(opt.domain);
    bytes workstation = utf16le("CLIENT");
    bytes lm, nt, enc_key;
    if (opt.anonymous) {
        lm = {0};
    } else if (opt.ntlmv1) {
        lm = bytes(24, 0x11);
        nt = bytes(24, 0x22);
    } else {
        // NTLMv2_CLIENT_CHALLENGE (MS-NLMP 2.2.2.7) over the server's AV pairs plus
        // MsvAvFlags announcing the MIC, and the server's timestamp.
        auto avs = parse_av_pairs(chal->target_info);
        if (!avs) {
            return std::nullopt;
        }
        byte_writer av;
        bytes timestamp(8, 0);
        for (const auto& p : *avs) {
            av.u16(uint16_t(p.id));
            av.u16(uint16_t(p.value.size()));
            av.put(p.value);
            if (p.id == av_id::timestamp) {
                timestamp.assign(p.value.begin(), p.value.end());
            }
        }
        if (opt.mic) {
            av.u16(uint16_t(av_id::flags));
            av.u16(4);
            av.u32(av_flag_mic_present);
        }
        av.u32(0); // MsvAvEOL
        byte_writer blob;
        blob.u8(1);
        blob.u8(1);
        blob.zeros(6);
        blob.put(timestamp);
        std::array<uint8_t, 8> cc;
        random_bytes(cc);
        blob.put(cc);
        blob.zeros(4);
        blob.put(av.buffer());
        blob.zeros(4);

        auto hash = compute_nt_hash(opt.password);
        bytes hashed_domain = opt.ntowf_domain ? utf16le(*opt.ntowf_domain) : domain;
        auto key = ntowf_v2(hash, user, hashed_domain);
        auto proof = hmac_md5(key, {chal->server_challenge, blob.buffer()});
        nt.assign(proof.begin(), proof.end());
        nt.insert(nt.end(), blob.buffer().begin(), blob.buffer().end());
        lm = bytes(24, 0); // Z(24) when the server sent a timestamp (3.1.5.1.2)
        auto base = hmac_md5(key, {proof});
        _session_base_key.assign(base.begin(), base.end());
        _exported_key = _session_base_key;
        if (flags & flag::key_exch) {
            _exported_key = bytes(16);
            random_bytes(_exported_key);
            enc_key = rc4(_session_base_key).apply(_exported_key);
        }
    }

    // Fixed part, Version and MIC (88 bytes), then the payload (MS-NLMP 2.2.1.3).
    byte_writer w;
    w.put(signature.data(), signature.size());
    w.u32(uint32_t(message_type::authenticate));
    size_t offset = 88;
    for (const bytes* f : {&lm, &nt, &domain, &user, &workstation, &enc_key}) {
        w.u16(uint16_t(f->size()));
        w.u16(uint16_t(f->size()));
        w.u32(uint32_t(offset));
        offset += f->size();
    }
    w.u32(flags);
    w.u8(10);
    w.zeros(6);
    w.u8(15);
    w.zeros(16); // MIC
    for (const bytes* f : {&lm, &nt, &domain, &user, &workstation, &enc_key}) {
        w.put(*f);
    }
    bytes msg = w.take();
    if (opt.mic && !opt.anonymous && !opt.ntlmv1) {
        auto mic = hmac_md5(_exported_key, {_negotiate, challenge_msg, msg});
        std::copy(mic.begin(), mic.end(), msg.begin() + mic_offset);
        if (opt.corrupt_mic) {
            msg[mic_offset + 3] ^= 0x40;
        }
    }
    return msg;
}

session_security client::security(session_security::direction d) const {
    return session_security(_exported_key, d, session_security::strength::bits_128,
                            opt.flags & flag::key_exch);
}

bytes client::mech_list_mic(byte_span mech_types_der) const {
    auto sig = security(session_security::direction::client_to_server).sign(0, mech_types_der);
    return bytes(sig.begin(), sig.end());
}

} // namespace smbx::auth::ntlm
