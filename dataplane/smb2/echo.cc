// SMB2 ECHO (MS-SMB2 3.3.5.17; wire 2.2.28, 2.2.29).
#include "dataplane/smb2/handlers.hh"

namespace smbx::smb2 {

void handle_echo(request&, response& resp) {
    resp.body.u16(4);
    resp.body.u16(0);
}

} // namespace smbx::smb2
