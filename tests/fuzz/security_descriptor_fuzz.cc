// Feeds arbitrary bytes to the self-relative security descriptor parser (MS-DTYP
// 2.4.6), as a SecD create context or a SET_INFO buffer would bring them. Whatever
// parses must encode, parse back to the same bytes, survive a merge, inheritance and
// an access check; the input's first byte also picks the parts to encode.
#include <cstdint>
#include <cstdlib>

#include "common/ntstatus.hh"
#include "dataplane/vfs/access_check.hh"
#include "dataplane/vfs/security_descriptor.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace smbx;
    auto parsed = vfs::parse_security_descriptor(byte_span(data, size));
    if (parsed.status != status::success) {
        return 0;
    }
    const auto& sd = parsed.sd;
    bytes wire = vfs::encode_security_descriptor(sd);
    auto again = vfs::parse_security_descriptor(wire);
    if (again.status != status::success || vfs::encode_security_descriptor(again.sd) != wire) {
        std::abort(); // the encoder must produce what the parser accepts, stably
    }
    uint32_t parts = size ? data[0] & 0xF : 0xF;
    auto partial = vfs::parse_security_descriptor(vfs::encode_security_descriptor(sd, parts));
    if (partial.status != status::success) {
        std::abort();
    }
    const auto& token = vfs::default_access_token();
    (void)vfs::granted_access(sd, token);
    auto stored = vfs::default_security_descriptor(0, 0, true);
    (void)vfs::merge_security_descriptor(stored, sd, parts);
    for (bool directory : {false, true}) {
        auto child =
            vfs::create_child_descriptor(sd, nullptr, directory, token.user, token.primary_group);
        (void)vfs::granted_access(child, token);
        auto child_wire = vfs::encode_security_descriptor(child);
        if (vfs::parse_security_descriptor(child_wire).status != status::success) {
            std::abort(); // inheritance must yield a valid descriptor
        }
        auto given =
            vfs::create_child_descriptor(stored, &sd, directory, token.user, token.primary_group);
        (void)vfs::encode_security_descriptor(given);
    }
    return 0;
}
