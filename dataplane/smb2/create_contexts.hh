// The create contexts of an SMB2 CREATE request (MS-SMB2 2.2.13.2): the chain parsed
// into (name, data) views of the request. A function of its own so that the CREATE
// handler and the per-command fuzz target (tests/fuzz/smb2_command_fuzz.cc) run the
// same parser.
#pragma once

#include <cstring>
#include <optional>
#include <vector>

#include "common/byte_codec.hh"

namespace smbx::smb2 {

struct create_context {
    byte_span name;
    byte_span data;
    bool is(const char* tag) const {
        return name.size() == 4 && std::memcmp(name.data(), tag, 4) == 0;
    }
};

// The chain of SMB2_CREATE_CONTEXT structures in `buf`; nullopt if malformed. Names
// are at least 4 bytes (Windows refuses shorter ones: smbtorture smb2.create.blob).
std::optional<std::vector<create_context>> parse_create_contexts(byte_span buf);

} // namespace smbx::smb2
