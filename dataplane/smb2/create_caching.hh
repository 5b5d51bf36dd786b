// What a CREATE asks to cache and what it is granted: RequestedOplockLevel and the
// RqLs create context in (MS-SMB2 2.2.13, 2.2.13.2.8, 2.2.13.2.10; 3.3.5.9, 3.3.5.9.8,
// 3.3.5.9.11), the arbiter's question for the new open, and OplockLevel and the lease
// response context out (2.2.14, 2.2.14.2.10, 2.2.14.2.11).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/lease_ipc.hh"
#include "dataplane/smb2/connection.hh"
#include "dataplane/smb2/lease_messages.hh"

namespace smbx::smb2 {

constexpr uint8_t oplock_level_lease = 0xFF; // SMB2_OPLOCK_LEVEL_LEASE

struct caching_request {
    uint8_t oplock = 0;                 // the OplockLevel asked for (0xFF: a lease)
    std::optional<lease_context> lease; // with oplock 0xFF, the lease asked for
    bool asks() const { return oplock != 0; }
};

// The request as the server honours it: a lease only from 2.1 on and only with
// SMB2_OPLOCK_LEVEL_LEASE (an RqLs beside another level is ignored, as is level LEASE
// without an RqLs), a v2 lease only from 3.0 on (2.1 reads the v1 part). nullopt: an
// RqLs of neither size (STATUS_INVALID_PARAMETER).
std::optional<caching_request> read_caching_request(const connection& conn, uint8_t requested,
                                                    std::optional<byte_span> rqls);

// The arbiter's question for the open `open_ref` of `file` (arbiter_file_key).
ipc::lease_open_request arbiter_request(const connection& conn, const caching_request& c,
                                        uint64_t open_ref, std::string file, bool overwrite);

struct caching_grant {
    uint8_t caching = 0; // SMB2_LEASE_*_CACHING: the lease state, or the oplock's
    uint8_t oplock_level = 0;
    bytes lease_context; // the RqLs response context's data; empty: none
};
caching_grant grant_of(const caching_request& c, const ipc::lease_open_reply& reply);

} // namespace smbx::smb2
