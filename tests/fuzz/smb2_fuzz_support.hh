// What the SMB2 engine fuzz targets (smb2_request_fuzz, smb2_negotiate_fuzz) share: the
// process-wide stand-ins a connection needs (the data plane's settings and a control
// client on an in-process ring that nobody answers), made once.
#pragma once

#include <chrono>
#include <cstdlib>
#include <memory>
#include <sys/eventfd.h>

#include "common/log.hh"
#include "dataplane/control_client.hh"
#include "tests/fuzz/fuzz_check.hh"

namespace smbx::smb2::fuzzing {

// Built once per process: a connection borrows these, so per-input setup is only the
// connection itself.
struct engine_world {
    control_channel channel;
    int wake_a = eventfd(0, 0);
    int wake_b = eventfd(0, 0);
    dataplane_settings settings;
    std::unique_ptr<control_client> control;

    engine_world() {
        log::set_level(-1);
        channel.create();
        control = std::make_unique<control_client>(channel, wake_a, wake_b);
        // No control plane answers: a call that needs one fails at once.
        control->set_timeout(std::chrono::milliseconds(0));
    }
};

} // namespace smbx::smb2::fuzzing
