// smbx-dataplane: started and supervised by smbx-control, never by hand. It inherits
// the control channel (shared memory + two eventfds) and the listening sockets, and
// serves SMB2 on them. It never reads the user database or the configuration file.
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unistd.h>

#include <rte_version.h>

#include "common/control_channel.hh"
#include "common/log.hh"
#include "dataplane/control_client.hh"
#include "dataplane/request_executor.hh"
#include "dataplane/smb_server.hh"
#include "dataplane/tcp/tcp_transport.hh"
#include "rdma/device_list.hh"

namespace {

smbx::tcp_transport* g_transport = nullptr;

void on_signal(int) {
    if (g_transport) {
        g_transport->stop(); // only writes an eventfd: async-signal-safe
    }
}

int usage() {
    fprintf(stderr, "usage: smbx-dataplane --channel-fd N --wake-control-fd N "
                    "--wake-dataplane-fd N\n(started by smbx-control)\n");
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    int channel_fd = -1, wake_control = -1, wake_dataplane = -1;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        int v = atoi(argv[i + 1]);
        if (a == "--channel-fd") {
            channel_fd = v;
        } else if (a == "--wake-control-fd") {
            wake_control = v;
        } else if (a == "--wake-dataplane-fd") {
            wake_dataplane = v;
        } else {
            return usage();
        }
    }
    if (channel_fd < 0 || wake_control < 0 || wake_dataplane < 0) {
        return usage();
    }
    smbx::log::set_process_name("smbx-dataplane");
    smbx::control_channel channel;
    if (!channel.attach(channel_fd)) {
        LOG_ERROR("cannot attach the control channel (fd %d)", channel_fd);
        return 1;
    }
    const smbx::dataplane_settings& settings = channel.layout().settings;
    smbx::log::set_level(settings.log_level);
    channel.layout().dataplane_pid = static_cast<uint32_t>(getpid());
    std::vector<int> listen_fds(settings.listen_fds,
                                settings.listen_fds +
                                    std::min<uint32_t>(settings.listen_fd_count, 16));
    if (listen_fds.empty()) {
        LOG_ERROR("no listening sockets were handed over");
        return 1;
    }

    auto devices = smbx::rdma::list_devices();
    LOG_INFO("%zu RDMA device(s) visible; SMB Direct is not enabled in this build yet",
             devices.size());
    LOG_DEBUG("DPDK %s linked; the DPDK transport is not enabled yet", rte_version());

    smbx::control_client control(channel, wake_control, wake_dataplane);
    // Executor threads run handlers, which may wait for the file system or the control
    // plane; a few per worker keeps the cores busy when some of them wait.
    unsigned threads = std::max(4u, settings.workers * 2);
    smbx::request_executor executor(threads);
    smbx::smb_server server(settings, control, executor);
    control.start([&server] { return server.status(); });

    smbx::tcp_transport transport(listen_fds, server);
    g_transport = &transport;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    LOG_NOTICE("serving SMB2 on %zu listening socket(s), %u executor threads", listen_fds.size(),
               threads);
    transport.run();
    g_transport = nullptr;
    LOG_NOTICE("stopping");
    executor.stop();
    control.stop();
    return 0;
}
