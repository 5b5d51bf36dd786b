// libFuzzer target for the SMB2 request path: arbitrary bytes as one received message
// (single request, compound chain, transform, or SMB1) on a connection that has
// already negotiated 3.1.1 and holds a valid session (id 1) with a tree connect (id 1)
// on a scratch share, so the handlers behind the checks are reached too.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "dataplane/smb2/dispatch.hh"
#include "tests/fuzz/smb2_fuzz_support.hh"

using namespace smbx;

namespace {

// The engine's stand-ins plus a scratch share with a directory and a file.
struct world : smb2::fuzzing::engine_world {
    std::string share;

    world() {
        char tmpl[] = "/tmp/smbx-fuzz-share-XXXXXX";
        share = mkdtemp(tmpl);
        std::filesystem::create_directories(share + "/dir");
        FILE* f = fopen((share + "/file.txt").c_str(), "w");
        if (f) {
            fputs("hello", f);
            fclose(f);
        }
    }
};

world& the_world() {
    static world w;
    return w;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    world& w = the_world();
    smb2::connection conn(w.settings, *w.control, "fuzz");
    conn.negotiated = true;
    conn.dialect = smb2::dialect_311;
    conn.cipher_id = smb2::cipher::aes128_gcm;
    conn.signing_alg = smb2::signing_algorithm::aes_cmac;
    conn.credits.consume(0, 1);
    conn.credits.grant(64);
    auto s = std::make_shared<smb2::session>();
    s->id = 1;
    s->st = smb2::session::state::valid;
    s->user = "fuzz";
    s->session_key = bytes(16, 1);
    s->signing_key = bytes(16, 2);
    s->encryption_key = bytes(16, 3);
    s->decryption_key = bytes(16, 4);
    auto t = std::make_shared<smb2::tree_connect>();
    t->id = 1;
    t->share.name = "share";
    t->share.path = w.share;
    s->add_tree(t);
    conn.add_channel(std::move(s));
    // Keep the scratch share from filling up across runs.
    auto result = smb2::process_message(conn, pool_buffer(bytes(data, data + size)));
    (void)result;
    return 0;
}
