// The kernel TCP backend (`transport = tcp`, the default): a tcp_transport per worker,
// the first accepting on the sockets smbx-control handed over (tcp_transport.hh).
#pragma once

#include "dataplane/runtime/transport.hh"

namespace smbx {

extern const transport_registration tcp_transport_registration;

} // namespace smbx
