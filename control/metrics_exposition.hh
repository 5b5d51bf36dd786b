// Prometheus' text exposition format (version 0.0.4) of what the data plane reports in
// its status reply: for `GET /metrics` (metrics_server) and `smbxctl metrics`.
#pragma once

#include <optional>
#include <string>

#include "common/ipc_messages.hh"

namespace smbx {

// Every metric with its HELP and TYPE lines. Without a status (the data plane is
// restarting or did not answer) only smbx_dataplane_up 0.
std::string format_metrics(const std::optional<ipc::status_reply>& status);

} // namespace smbx
