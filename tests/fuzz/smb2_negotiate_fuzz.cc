// libFuzzer target for what a connection parses first, before any authentication:
// arbitrary bytes as the first message on a fresh connection (nothing negotiated). That
// is the SMB2 NEGOTIATE request with its dialects and negotiate contexts (MS-SMB2
// 2.2.3, 2.2.3.1; 3.3.5.4), the SMB1 multi-protocol NEGOTIATE smbx answers with an SMB2
// NEGOTIATE response (3.3.5.3.1), and whatever else a client may send first. After each
// message the connection's state must agree with what the server answered.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/ntstatus.hh"

#include "dataplane/smb2/dispatch.hh"
#include "tests/fuzz/smb2_fuzz_support.hh"

using namespace smbx;
using smbx::fuzzing::check;

namespace {

// The engine's stand-ins, with a token in the response as control puts its SPNEGO
// negTokenInit2 there.
struct world : smb2::fuzzing::engine_world {
    world() {
        settings.negotiate_token_length = 16;
        std::fill_n(settings.negotiate_token, 16, 0x60);
    }
};

world& the_world() {
    static world w;
    return w;
}

bool known_dialect(const smb2::connection& conn, uint16_t d) {
    return (d == smb2::dialect_202 || d == smb2::dialect_210 || d == smb2::dialect_300 ||
            d == smb2::dialect_302 || d == smb2::dialect_311) &&
           d >= conn.settings.min_dialect && d <= conn.settings.max_dialect;
}

// The DialectRevision of a successful NEGOTIATE response (2.2.4), or 0 when `msg` is
// not one.
uint16_t negotiated_dialect_of(byte_span msg) {
    smb2::header h;
    if (!smb2::parse_header(msg, h) || h.cmd != smb2::command::negotiate ||
        h.status != status::success) {
        return 0;
    }
    byte_reader r(msg.subspan(smb2::header_size));
    check(r.u16() == 65); // StructureSize
    r.skip(2);
    uint16_t dialect = r.u16();
    check(r.ok());
    return dialect;
}

// Every response of every reply (chains walked by NextCommand): the dialects of the
// successful NEGOTIATE responses among them.
std::vector<uint16_t> answered_dialects(const smb2::processing_result& result) {
    std::vector<uint16_t> dialects;
    for (const auto& reply : result.replies) {
        bytes whole = reply.head;
        whole.insert(whole.end(), reply.payload.view().begin(), reply.payload.view().end());
        byte_span msg(whole);
        for (size_t offset = 0; offset < msg.size();) {
            smb2::header h;
            check(smb2::parse_header(msg.subspan(offset), h)); // nothing is encrypted yet
            if (uint16_t d = negotiated_dialect_of(msg.subspan(offset))) {
                dialects.push_back(d);
            }
            if (!h.next_command) {
                break;
            }
            offset += h.next_command;
        }
    }
    return dialects;
}

void check_smb1_upgrade(const smb2::connection& conn, const smb2::processing_result& result,
                        const std::vector<uint16_t>& dialects) {
    // One SMB2 NEGOTIATE response, or nothing and a disconnect (3.3.5.3.1).
    if (result.replies.empty()) {
        check(result.disconnect && !conn.negotiated);
        return;
    }
    check(result.replies.size() == 1 && !result.disconnect && dialects.size() == 1);
    if (dialects[0] == smb2::dialect_wildcard) {
        check(!conn.negotiated); // the client follows with an SMB2 NEGOTIATE
    } else {
        check(dialects[0] == smb2::dialect_202 && conn.negotiated &&
              conn.dialect == smb2::dialect_202);
    }
}

void check_smb2(const smb2::connection& conn, const std::vector<uint16_t>& dialects) {
    if (!conn.negotiated) {
        check(dialects.empty());
        return;
    }
    // Negotiated: exactly one success, for the dialect the connection now runs, one the
    // server supports and (when the whole list was kept) one the client offered.
    check(dialects.size() == 1 && dialects[0] == conn.dialect && known_dialect(conn, conn.dialect));
    if (conn.client_dialect_count < conn.client_dialects.size()) {
        auto offered = conn.client_dialects.begin() + conn.client_dialect_count;
        check(std::find(conn.client_dialects.begin(), offered, conn.dialect) != offered);
    }
    check(uint16_t(conn.cipher_id) <= uint16_t(smb2::cipher::aes256_gcm));
    check(uint16_t(conn.signing_alg) <= uint16_t(smb2::signing_algorithm::aes_gmac));
    if (conn.dialect == smb2::dialect_311) {
        // The preauth hash took the request and the response (3.3.5.4).
        check(std::any_of(conn.preauth.begin(), conn.preauth.end(), [](uint8_t b) { return b; }));
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto& w = the_world();
    smb2::connection conn(w.settings, *w.control, "fuzz");
    auto result = smb2::process_message(conn, pool_buffer(bytes(data, data + size)));
    auto dialects = answered_dialects(result);
    bool smb1 = size >= 4 && data[0] == 0xFF && data[1] == 'S' && data[2] == 'M' && data[3] == 'B';
    if (smb1) {
        check_smb1_upgrade(conn, result, dialects);
    } else {
        check_smb2(conn, dialects);
    }
    return 0;
}
