// SMB Direct beside TCP (`rdma addresses`, `rdma ports`): an smbd_transport per worker,
// the first listening on every address x port and dealing connections out to all of
// them (smbd_transport.hh). Optional: without an RDMA device or a listener, the data
// plane serves TCP only.
#pragma once

#include "dataplane/runtime/transport.hh"

namespace smbx::rdma {

extern const transport_registration smbd_transport_registration;

} // namespace smbx::rdma
