// One handler per SMB2 command, each in the file named for it. dispatch.cc holds the
// table that maps commands to these and says what each needs (session, tree), the
// StructureSize it checks for them, and where each runs.
#pragma once

#include "dataplane/smb2/request.hh"

namespace smbx::smb2 {

void handle_negotiate(request& req, response& resp);       // negotiate.cc
void handle_session_setup(request& req, response& resp);   // session_setup.cc
void handle_logoff(request& req, response& resp);          // session_setup.cc
void handle_tree_connect(request& req, response& resp);    // tree_connect.cc
void handle_tree_disconnect(request& req, response& resp); // tree_connect.cc
void handle_create(request& req, response& resp);          // create.cc
void handle_close(request& req, response& resp);           // close.cc
void handle_flush(request& req, response& resp);           // flush.cc
void handle_read(request& req, response& resp);            // read_write.cc
void handle_write(request& req, response& resp);           // read_write.cc
void handle_lock(request& req, response& resp);            // lock.cc
void handle_ioctl(request& req, response& resp);           // ioctl.cc
void handle_echo(request& req, response& resp);            // echo.cc
void handle_query_directory(request& req, response& resp); // query_directory.cc
void handle_change_notify(request& req, response& resp);   // change_notify.cc
void handle_query_info(request& req, response& resp);      // query_info.cc
void handle_set_info(request& req, response& resp);        // set_info.cc
void handle_oplock_break(request& req, response& resp);    // oplock_break.cc

} // namespace smbx::smb2
