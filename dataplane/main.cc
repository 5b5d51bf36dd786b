// smbx-dataplane: started and supervised by smbx-control, never by hand. It inherits
// the control channel (shared memory + two eventfds) and the listening sockets, and
// serves SMB2 on them. It never reads the user database or the configuration file.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "common/control_channel.hh"
#include "common/log.hh"
#include "dataplane/control_client.hh"
#include "dataplane/dpdk/dpdk_backend.hh"
#include "dataplane/request_executor.hh"
#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/runtime/transport_registry.hh"
#include "dataplane/runtime/worker.hh"
#include "dataplane/smb2/network_interfaces.hh"
#include "dataplane/smb_server.hh"
#include "dataplane/tcp/tcp_backend.hh"
#include "rdma/smbd_backend.hh"

namespace {

// Set from the signal handler; the main thread waits for it on an eventfd.
int g_stop_fd = -1;

void on_signal(int) {
    uint64_t one = 1;
    ssize_t r = write(g_stop_fd, &one, sizeof one); // async-signal-safe
    (void)r;
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
    // The buffer pool comes first: transports receive into it and file reads fill it.
    smbx::buffer_pool pool(size_t(settings.buffer_pool_mib) * 1024 * 1024);
    smbx::buffer_pool::set_global(&pool);

    smbx::control_client control(channel, wake_control, wake_dataplane);
    // Request threads run what the workers do not (metadata, waits for the control
    // plane): a small pool per worker, pinned to that worker's core, so a connection's
    // work stays on one core. A few per worker keep the core busy while some wait.
    unsigned workers = std::max(1u, settings.workers);
    unsigned threads_per_worker = std::max(2u, (4u + workers - 1) / workers);
    auto cpus = smbx::worker::allowed_cpus();
    auto cpu_of = [&cpus](unsigned i) { return cpus.empty() ? -1 : cpus[i % cpus.size()]; };
    std::vector<std::unique_ptr<smbx::request_executor>> executors;
    std::vector<smbx::request_executor*> executors_view;
    for (unsigned i = 0; i < workers; ++i) {
        executors.push_back(
            std::make_unique<smbx::request_executor>(threads_per_worker, cpu_of(i)));
        executors_view.push_back(executors.back().get());
    }
    smbx::smb_server server(settings, control, executors_view);
    control.on_lease_notice([&server](const smbx::bytes& m) { server.on_lease_notice(m); });
    // The first worker polls the control ring along with its network (below).
    control.start([&server] { return server.status(); }, false);

    // One worker per core; the first one also polls the control ring.
    std::vector<std::unique_ptr<smbx::worker>> pool_workers;
    std::vector<smbx::worker*> workers_view;
    for (unsigned i = 0; i < workers; ++i) {
        pool_workers.push_back(std::make_unique<smbx::worker>(i, cpu_of(i), settings.idle));
        workers_view.push_back(pool_workers.back().get());
    }
    pool_workers.front()->add_poller(&control);

    // The transport backends: whatever the settings turn on (`transport`, and SMB Direct
    // beside TCP), each listening and running an instance on every worker.
    smbx::transport_registry registry;
    registry.add(smbx::tcp_transport_registration);
    registry.add(smbx::dpdk::dpdk_transport_registration);
    registry.add(smbx::rdma::smbd_transport_registration);
    auto started = registry.start({settings, server, workers_view, pool});
    if (!started.ok()) {
        LOG_ERROR("%s", started.error.c_str());
        return 1;
    }

    // What FSCTL_QUERY_NETWORK_INTERFACE_INFO reports: the listeners' addresses,
    // RDMA_CAPABLE where SMB Direct listens as well.
    std::vector<uint32_t> addresses, rdma_addresses;
    std::string names;
    for (auto& b : started.backends) {
        auto a = b->listening_addresses();
        auto& into = b->supports_rdma_channel() ? rdma_addresses : addresses;
        into.insert(into.end(), a.begin(), a.end());
        names += names.empty() ? b->name() : std::string(", ") + b->name();
    }
    smbx::smb2::set_network_interfaces(
        smbx::smb2::describe_addresses(addresses, rdma_addresses, workers > 1));

    g_stop_fd = eventfd(0, EFD_CLOEXEC);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    for (auto& w : pool_workers) {
        w->start();
    }
    LOG_NOTICE("serving SMB2 over %s: %u worker(s), idle policy %s, %u request threads per worker",
               names.c_str(), workers,
               settings.idle == smbx::idle_policy::poll ? "poll" : "adaptive", threads_per_worker);
    uint64_t v;
    while (read(g_stop_fd, &v, sizeof v) < 0 && errno == EINTR) {
    }
    LOG_NOTICE("stopping");
    for (auto& w : pool_workers) {
        w->stop();
    }
    for (auto& w : pool_workers) {
        w->join();
    }
    // Nobody polls the control ring now: calls still waiting return at once.
    control.stop();
    for (auto& e : executors) {
        e->stop();
    }
    for (auto it = started.backends.rbegin(); it != started.backends.rend(); ++it) {
        (*it)->stop();
    }
    return 0;
}
