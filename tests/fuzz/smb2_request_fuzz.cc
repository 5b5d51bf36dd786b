// libFuzzer target for the SMB2 request path: arbitrary bytes as one received message
// (single request, compound chain, transform, or SMB1) on a connection that has
// already negotiated 3.1.1 and holds a valid session (id 1) with a tree connect (id 1)
// on a scratch share and one on IPC$ (id 2), so the handlers behind the checks are
// reached too.
#include "dataplane/smb2/dispatch.hh"
#include "tests/fuzz/smb2_fuzz_support.hh"

using namespace smbx;

namespace {

struct world : smb2::fuzzing::engine_world {
    smb2::fuzzing::scratch_share share;
};

world& the_world() {
    static world w;
    return w;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    world& w = the_world();
    smb2::connection conn(w.settings, *w.control, "fuzz");
    smb2::fuzzing::make_ready(conn, w.share.path());
    auto result = smb2::process_message(conn, pool_buffer(bytes(data, data + size)));
    (void)result;
    w.drain_control();
    return 0;
}
