// `smbxctl status --json`: the status as one JSON object. The keys are stable (README,
// "smbxctl status --json"); new keys may be added, none renamed or removed.
#pragma once

#include <string>
#include <string_view>

#include "common/ipc_messages.hh"

namespace smbx {

// {"dataplane_pid": N, "sessions": [...], "open_files": [...], "data_path": {...}}
std::string format_status_json(const ipc::status_reply& s, int dataplane_pid);

// A JSON string literal (quotes included); bytes that are not UTF-8 become U+FFFD, so
// the output always parses whatever a client named its files.
std::string json_string(std::string_view s);

} // namespace smbx
