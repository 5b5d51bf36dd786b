// The oplock and lease wire forms a client sends (dataplane/smb2/lease_messages.hh):
// the lease create context and the two break acknowledgements. Whatever parses writes
// back to bytes that parse to the same fields.
#include <cstddef>
#include <cstdint>

#include "dataplane/smb2/lease_messages.hh"
#include "tests/fuzz/fuzz_check.hh"

using namespace smbx;
using namespace smbx::smb2;
using smbx::fuzzing::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    byte_span in(data, size);
    if (auto c = parse_lease_context(in)) {
        auto again = parse_lease_context(write_lease_context(*c));
        check(again && again->version == c->version && again->key == c->key &&
              again->state == c->state && again->epoch == c->epoch && again->parent == c->parent);
    }
    if (auto a = parse_oplock_break_ack(in)) {
        auto again = parse_oplock_break_ack(write_oplock_break(a->level, a->id));
        check(again && again->level == a->level && again->id.persistent == a->id.persistent);
    }
    if (auto l = parse_lease_break_ack(in)) {
        auto again = parse_lease_break_ack(write_lease_break_response(l->key, l->state));
        check(again && again->key == l->key && again->state == l->state);
    }
    return 0;
}
