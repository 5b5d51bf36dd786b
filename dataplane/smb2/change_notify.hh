// CHANGE_NOTIFY beyond the handler (MS-SMB2 3.3.5.19): changes arriving from the
// watcher, and the end of an open's pending notifies when it closes.
#pragma once

#include <cstdint>
#include <vector>

#include "dataplane/smb2/connection.hh"

namespace smbx::smb2 {

// On the connection's strand: changes seen for the directory open `volatile_id`.
// Buffers them and answers the oldest waiting CHANGE_NOTIFY.
void notify_changes(connection& conn, uint64_t volatile_id, std::vector<vfs::change> changes);

// The open `volatile_id` is closing: its waiting CHANGE_NOTIFY requests on `conn`
// complete with STATUS_NOTIFY_CLEANUP and its watch there stops.
void end_notifies(connection& conn, uint64_t volatile_id);

// The open `h` left its session (CLOSE, TREE_DISCONNECT or LOGOFF on `conn`): the same
// on `conn` at once, and on every other channel with notify state for it on that
// channel's strand (MS-SMB2 3.3.5.10: a CLOSE from any channel ends them).
void end_notifies(connection& conn, open_handle& h);

} // namespace smbx::smb2
