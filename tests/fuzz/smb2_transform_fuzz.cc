// libFuzzer target for the SMB2 TRANSFORM_HEADER path (MS-SMB2 2.2.41, 3.3.5.2.1.1)
// on a connection that negotiated 3.1.1 with a session (id 1) whose keys are fixed
// (smb2_fuzz_support.hh). The fuzzer cannot forge an AES-GCM/CCM tag, so in the sealed
// modes the harness encrypts the fuzzer's bytes with the session's key through the
// product's crypto::encrypt_message, as a client would, and the server decrypts and
// parses the inner message (single request or compound). The raw mode feeds the bytes
// after a transform ProtocolId as they are, to reach the header checks before the tag.
//
// Input: byte 0 the mode (`mode_*`), byte 1 the cipher the connection negotiated (one of
// the four, 2.2.3.1.2), the rest the inner message (sealed) or the transform header and
// ciphertext (raw).
#include <array>

#include "dataplane/smb2/crypto.hh"
#include "dataplane/smb2/dispatch.hh"
#include "tests/fuzz/smb2_fuzz_support.hh"

using namespace smbx;
using smbx::fuzzing::check;

namespace {

constexpr uint8_t mode_sealed = 0;        // request threads: process_message decrypts
constexpr uint8_t mode_sealed_worker = 1; // a worker: decrypt_in_place, plan, process
constexpr uint8_t mode_raw = 2;           // 0xFD 'S' 'M' 'B' then the fuzzer's bytes
constexpr uint8_t mode_count = 3;

constexpr std::array ciphers = {smb2::cipher::aes128_ccm, smb2::cipher::aes128_gcm,
                                smb2::cipher::aes256_ccm, smb2::cipher::aes256_gcm};

struct world : smb2::fuzzing::engine_world {
    smb2::fuzzing::scratch_share share;
};

world& the_world() {
    static world w;
    return w;
}

// Whatever the server answers to an encrypted request goes encrypted (3.3.4.1.4), or
// it is an unencrypted ERROR it may send before it knows the session: never a plain
// success.
void check_replies_sealed(const smb2::processing_result& result) {
    for (const auto& m : result.replies) {
        byte_reader r(m.head);
        uint32_t magic = r.u32();
        if (magic == smb2::protocol_id) {
            r.seek(8);
            check(r.u32() != 0); // Status
        } else {
            check(magic == smb2::transform_protocol_id);
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) {
        return 0;
    }
    world& w = the_world();
    struct drain_at_exit {
        world& w;
        ~drain_at_exit() { w.drain_control(); }
    } drain{w};
    uint8_t mode = data[0] % mode_count;
    smb2::cipher c = ciphers[data[1] % ciphers.size()];
    byte_span inner(data + 2, size - 2);

    smb2::connection conn(w.settings, *w.control, "fuzz");
    auto sess = smb2::fuzzing::make_ready(conn, w.share.path());
    conn.cipher_id = c;
    // The client's key for the negotiated cipher's size (3.1.4.2: 16 or 32 bytes).
    size_t key_size = smb2::crypto::cipher_key_size(c);
    sess->decryption_key = bytes(key_size, 4);
    sess->encryption_key = bytes(key_size, 3);

    if (mode == mode_raw) {
        bytes message{0xFD, 'S', 'M', 'B'};
        message.insert(message.end(), inner.begin(), inner.end());
        auto result = smb2::process_message(conn, pool_buffer(std::move(message)));
        check_replies_sealed(result);
        return 0;
    }
    auto sealed =
        smb2::crypto::encrypt_message(c, sess->decryption_key, smb2::fuzzing::session_id, inner);
    check(sealed.has_value() || inner.empty());
    if (!sealed) {
        return 0;
    }
    pool_buffer message(std::move(*sealed));
    if (mode == mode_sealed) {
        check_replies_sealed(smb2::process_message(conn, std::move(message)));
        return 0;
    }
    // mode_sealed_worker, as smb_server::process_on_worker: decrypt, then plan on the
    // plaintext.
    static_assert(mode_sealed_worker == mode_count - 2);
    // It decrypts exactly when it carries at least an SMB2 header (3.3.5.2.1.1).
    bool opened = smb2::decrypt_in_place(conn, message);
    check(opened == (inner.size() >= smb2::header_size));
    if (!opened) {
        return 0;
    }
    auto plan = smb2::plan_message(conn, message.view().subspan(smb2::transform_header_size));
    plan.decrypted = true;
    auto result = smb2::process_planned(conn, std::move(message), plan);
    // A suspended READ/WRITE would wait for the worker's ring; it is dropped unanswered.
    if (!result.suspended) {
        check_replies_sealed(result);
    }
    return 0;
}
