// How large an SMB2 message the data plane takes from a client, on every transport
// (Direct TCP over io_uring or DPDK, SMB Direct). One place for the numbers: the
// transports' framers, the engine's check (smb_server.cc) and the buffer pool's
// largest size class all read them. SMB Direct's own MS-SMBD limits (receive and
// fragmented sizes, MS-SMBD 3.1.1.1) stay in rdma/.
#pragma once

#include <cstdint>

namespace smbx {

// The largest message after a session exists: the 8 MiB MaxReadSize, MaxWriteSize and
// MaxTransactSize we advertise in NEGOTIATE (smb2/connection.hh, MS-SMB2 2.2.4) plus
// room for the headers around the data (SMB2 header and request, TRANSFORM_HEADER).
constexpr uint32_t max_message_size = 8 * 1024 * 1024 + 64 * 1024;

// The largest message before the connection has a session. A server limits what an
// unauthenticated client can make it hold (MS-SMB2 3.3.5.2 lets the server disconnect
// on a message it will not take; the Direct TCP length alone allows 16 MiB, 2.1):
// NEGOTIATE and SESSION_SETUP (even with a large Kerberos ticket) fit well within this.
constexpr uint32_t pre_session_max_message = 128 * 1024;

} // namespace smbx
