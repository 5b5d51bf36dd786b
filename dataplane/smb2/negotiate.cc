// SMB2 NEGOTIATE (MS-SMB2 3.3.5.3, 3.3.5.4; wire 2.2.3, 2.2.4).
#include "dataplane/smb2/negotiate.hh"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <openssl/rand.h>

#include "common/log.hh"
#include "dataplane/smb2/handlers.hh"

namespace smbx::smb2 {

namespace {

const std::chrono::system_clock::time_point server_start = std::chrono::system_clock::now();

uint64_t filetime_now() {
    using namespace std::chrono;
    auto since_epoch = duration_cast<nanoseconds>(system_clock::now().time_since_epoch()).count();
    return uint64_t(since_epoch / 100) + 116444736000000000ULL;
}

bool dialect_supported(const connection& conn, uint16_t d) {
    static const uint16_t known[] = {dialect_202, dialect_210, dialect_300, dialect_302,
                                     dialect_311};
    return std::find(std::begin(known), std::end(known), d) != std::end(known) &&
           d >= conn.settings.min_dialect && d <= conn.settings.max_dialect;
}

bool encryption_enabled(const connection& conn) {
    return conn.settings.encrypt != encrypt_policy::off;
}

// What the client offered in its negotiate contexts (2.2.3.1).
struct client_contexts {
    int preauth = 0, encryption = 0, signing = 0, compression = 0, netname = 0;
    bool sha512 = false;
    std::vector<uint16_t> ciphers;
    std::vector<uint16_t> signing_algorithms;
};

uint32_t parse_contexts(byte_reader& msg, uint32_t offset, uint16_t count, client_contexts& c) {
    size_t pos = offset;
    for (uint16_t i = 0; i < count; ++i) {
        pos = (pos + 7) & ~size_t(7);
        auto hdr = msg.at(pos, 8);
        if (hdr.empty()) {
            return status::invalid_parameter;
        }
        byte_reader h(hdr);
        uint16_t type = h.u16();
        uint16_t len = h.u16();
        auto data = msg.at(pos + 8, len);
        if (!msg.ok()) {
            return status::invalid_parameter;
        }
        byte_reader d(data);
        switch (type) {
        case ctx_preauth_integrity: {
            ++c.preauth;
            uint16_t n = d.u16();
            uint16_t salt = d.u16();
            for (uint16_t k = 0; k < n; ++k) {
                c.sha512 |= d.u16() == hash_sha512;
            }
            d.skip(salt);
            if (!d.ok() || n == 0) {
                return status::invalid_parameter;
            }
            break;
        }
        case ctx_encryption: {
            ++c.encryption;
            uint16_t n = d.u16();
            for (uint16_t k = 0; k < n; ++k) {
                c.ciphers.push_back(d.u16());
            }
            if (!d.ok() || n == 0) {
                return status::invalid_parameter;
            }
            break;
        }
        case ctx_signing: {
            ++c.signing;
            uint16_t n = d.u16();
            for (uint16_t k = 0; k < n; ++k) {
                c.signing_algorithms.push_back(d.u16());
            }
            if (!d.ok() || n == 0) {
                return status::invalid_parameter;
            }
            break;
        }
        case ctx_compression:
            ++c.compression;
            break;
        case ctx_netname:
            ++c.netname;
            break;
        default:
            break; // unknown contexts are ignored (3.3.5.4)
        }
        pos += 8 + len;
    }
    if (c.preauth > 1 || c.encryption > 1 || c.signing > 1 || c.compression > 1) {
        return status::invalid_parameter;
    }
    return status::success;
}

void put_context(byte_writer& w, uint16_t type, const bytes& data) {
    w.align(8);
    w.u16(type);
    w.u16(static_cast<uint16_t>(data.size()));
    w.u32(0);
    w.put(data);
}

// The NEGOTIATE response body (2.2.4) for conn's negotiated dialect.
void write_response(connection& conn, response& resp, uint16_t dialect,
                    const client_contexts* ctx) {
    const auto& s = conn.settings;
    auto& w = resp.body;
    w.u16(65);
    w.u16(server_security_mode(conn));
    w.u16(dialect);
    size_t ctx_count_at = w.reserve(2);
    w.put(s.server_guid, 16);
    w.u32(dialect == dialect_wildcard ? 0 : server_capabilities(conn));
    w.u32(connection::max_transact_size);
    w.u32(connection::max_read_size);
    w.u32(connection::max_write_size);
    w.u64(filetime_now());
    w.u64(0); // ServerStartTime: 0, as Windows does
    uint16_t token_len = static_cast<uint16_t>(std::min<uint32_t>(s.negotiate_token_length, 512));
    w.u16(static_cast<uint16_t>(header_size + 64));
    w.u16(token_len);
    size_t ctx_offset_at = w.reserve(4);
    w.put(s.negotiate_token, token_len);
    if (dialect != dialect_311 || !ctx) {
        return;
    }
    w.align(8);
    w.patch_u32(ctx_offset_at, static_cast<uint32_t>(resp.next_offset()));
    uint16_t count = 0;
    {
        byte_writer d;
        d.u16(1);
        d.u16(32);
        d.u16(hash_sha512);
        uint8_t salt[32];
        RAND_bytes(salt, sizeof salt);
        d.put(salt, sizeof salt);
        put_context(w, ctx_preauth_integrity, d.buffer());
        ++count;
    }
    if (ctx->encryption) {
        byte_writer d;
        d.u16(1);
        d.u16(static_cast<uint16_t>(conn.cipher_id));
        put_context(w, ctx_encryption, d.buffer());
        ++count;
    }
    if (ctx->signing) {
        byte_writer d;
        d.u16(1);
        d.u16(static_cast<uint16_t>(conn.signing_alg));
        put_context(w, ctx_signing, d.buffer());
        ++count;
    }
    w.patch_u16(ctx_count_at, count);
}

} // namespace

uint32_t server_capabilities(const connection& conn) {
    uint32_t caps = 0;
    if (conn.dialect >= dialect_210) {
        caps |= cap_large_mtu;
        // Leases (3.3.5.4): granted where the connection has an arbiter to ask.
        if (conn.settings.leases && conn.leases) {
            caps |= cap_leasing;
        }
    }
    // Multichannel (3.3.5.4): sessions of 3.x connections may gain channels.
    if (conn.is_smb3() && conn.multichannel) {
        caps |= cap_multi_channel;
    }
    // 3.0 and 3.0.2 announce encryption as a capability; 3.1.1 negotiates a cipher.
    if ((conn.dialect == dialect_300 || conn.dialect == dialect_302) &&
        (conn.client_capabilities & cap_encryption) && encryption_enabled(conn)) {
        caps |= cap_encryption;
    }
    return caps;
}

uint16_t server_security_mode(const connection& conn) {
    return signing_enabled |
           (conn.settings.signing == signing_policy::mandatory ? signing_required : 0);
}

void handle_negotiate(request& req, response& resp) {
    connection& conn = req.conn;
    if (conn.negotiated) {
        // A second NEGOTIATE on a connection (3.3.5.3.1): disconnect.
        resp.fail(status::invalid_parameter);
        return;
    }
    byte_reader r = req.body();
    r.skip(2);
    uint16_t dialect_count = r.u16();
    uint16_t security_mode = r.u16();
    r.skip(2);
    uint32_t capabilities = r.u32();
    std::array<uint8_t, 16> guid{};
    r.copy_to(guid.data(), 16);
    uint32_t ctx_offset = r.u32();
    uint16_t ctx_count = r.u16();
    r.skip(2);
    std::vector<uint16_t> dialects;
    for (uint16_t i = 0; i < dialect_count; ++i) {
        dialects.push_back(r.u16());
    }
    if (!r.ok() || dialect_count == 0) {
        resp.fail(status::invalid_parameter);
        return;
    }
    uint16_t chosen = 0;
    for (uint16_t d : dialects) {
        if (dialect_supported(conn, d) && d > chosen) {
            chosen = d;
        }
    }
    if (!chosen) {
        resp.fail(status::not_supported);
        return;
    }
    conn.dialect = chosen;
    conn.client_capabilities = capabilities;
    conn.client_security_mode = security_mode;
    conn.client_guid = guid;
    conn.client_dialect_count = static_cast<uint16_t>(std::min<size_t>(dialects.size(), 8));
    std::copy_n(dialects.begin(), conn.client_dialect_count, conn.client_dialects.begin());
    conn.signing_alg =
        chosen >= dialect_300 ? signing_algorithm::aes_cmac : signing_algorithm::hmac_sha256;
    if (chosen >= dialect_300 && chosen < dialect_311 && (capabilities & cap_encryption) &&
        encryption_enabled(conn)) {
        conn.cipher_id = cipher::aes128_ccm; // the only 3.0/3.0.2 cipher
    }

    client_contexts ctx;
    if (chosen == dialect_311) {
        byte_reader whole(req.message);
        uint32_t st = parse_contexts(whole, ctx_offset, ctx_count, ctx);
        if (st == status::success && ctx.preauth == 0) {
            st = status::invalid_parameter;
        }
        if (st == status::success && !ctx.sha512) {
            st = 0xC05D0000; // STATUS_SMB_NO_PREAUTH_INTEGRITY_HASH_OVERLAP
        }
        if (st != status::success) {
            conn.dialect = 0;
            resp.fail(st);
            return;
        }
        if (encryption_enabled(conn)) {
            static const cipher preference[] = {cipher::aes128_gcm, cipher::aes128_ccm,
                                                cipher::aes256_gcm, cipher::aes256_ccm};
            for (cipher c : preference) {
                if (std::find(ctx.ciphers.begin(), ctx.ciphers.end(), uint16_t(c)) !=
                    ctx.ciphers.end()) {
                    conn.cipher_id = c;
                    break;
                }
            }
        }
        static const signing_algorithm sign_pref[] = {signing_algorithm::aes_gmac,
                                                      signing_algorithm::aes_cmac,
                                                      signing_algorithm::hmac_sha256};
        for (auto a : sign_pref) {
            if (std::find(ctx.signing_algorithms.begin(), ctx.signing_algorithms.end(),
                          uint16_t(a)) != ctx.signing_algorithms.end()) {
                conn.signing_alg = a;
                break;
            }
        }
    }
    conn.negotiated = true;
    conn.signing_required_by_server = conn.settings.signing == signing_policy::mandatory;
    conn.server_capabilities = server_capabilities(conn);
    LOG_INFO("%s: negotiated dialect %x, cipher %u, signing %u", conn.client_address.c_str(),
             chosen, unsigned(conn.cipher_id), unsigned(conn.signing_alg));
    write_response(conn, resp, chosen, chosen == dialect_311 ? &ctx : nullptr);
}

std::optional<bytes> negotiate_from_smb1(connection& conn, byte_span message) {
    // SMB1 header (32 bytes), WordCount, ByteCount, then 0x02-prefixed dialect strings.
    byte_reader r(message);
    r.skip(4);
    uint8_t command = r.u8();
    r.skip(27);
    uint8_t word_count = r.u8();
    r.skip(size_t(word_count) * 2);
    uint16_t byte_count = r.u16();
    auto strings = r.take(byte_count);
    if (!r.ok() || command != 0x72) {
        return std::nullopt;
    }
    bool smb2_wildcard = false, smb2_002 = false;
    std::string_view all(reinterpret_cast<const char*>(strings.data()), strings.size());
    for (size_t pos = 0; pos < all.size();) {
        if (all[pos] != 0x02) {
            return std::nullopt;
        }
        size_t end = all.find('\0', pos + 1);
        if (end == std::string_view::npos) {
            return std::nullopt;
        }
        auto name = all.substr(pos + 1, end - pos - 1);
        smb2_wildcard |= name == "SMB 2.???";
        smb2_002 |= name == "SMB 2.002";
        pos = end + 1;
    }
    uint16_t dialect;
    if (smb2_wildcard && conn.settings.max_dialect >= dialect_210) {
        dialect = dialect_wildcard; // the client follows with an SMB2 NEGOTIATE
    } else if ((smb2_002 || smb2_wildcard) && dialect_supported(conn, dialect_202)) {
        dialect = dialect_202;
        conn.dialect = dialect_202;
        conn.negotiated = true;
        conn.signing_alg = signing_algorithm::hmac_sha256;
    } else {
        return std::nullopt;
    }
    conn.credits.consume(0, 1);
    response resp;
    write_response(conn, resp, dialect, nullptr);
    header h;
    h.cmd = command::negotiate;
    h.flags = flag_server_to_redir;
    h.credits = conn.credits.grant(1);
    byte_writer w;
    write_header(w, h);
    w.put(resp.body.buffer());
    return w.take();
}

} // namespace smbx::smb2
