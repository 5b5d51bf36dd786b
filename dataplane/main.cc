// smbx-dataplane: started and supervised by smbx-control, never by hand. It inherits
// the control channel (shared memory + two eventfds) and the listening sockets, and
// serves SMB2 on them. It never reads the user database or the configuration file.
#include <arpa/inet.h>
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

#include <rte_version.h>

#include "common/control_channel.hh"
#include "common/log.hh"
#include "dataplane/control_client.hh"
#include "dataplane/dpdk/dpdk_setup.hh"
#include "dataplane/request_executor.hh"
#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/runtime/worker.hh"
#include "dataplane/smb2/network_interfaces.hh"
#include "dataplane/smb_server.hh"
#include "dataplane/tcp/tcp_transport.hh"
#include "rdma/device_list.hh"
#include "rdma/smbd_transport.hh"

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
    std::vector<int> listen_fds(settings.listen_fds,
                                settings.listen_fds +
                                    std::min<uint32_t>(settings.listen_fd_count, 16));
    // With `transport = dpdk` control opens no kernel socket: the stack listens itself.
    if (listen_fds.empty() && settings.transport != smbx::transport_kind::dpdk) {
        LOG_ERROR("no listening sockets were handed over");
        return 1;
    }

    auto devices = smbx::rdma::list_devices();
    for (const auto& d : devices) {
        LOG_INFO("RDMA device %s (node GUID %s)", d.name.c_str(), d.node_guid.c_str());
    }
    LOG_DEBUG("DPDK %s linked", rte_version());

    // The buffer pool comes first: transports receive into it and file reads fill it.
    smbx::buffer_pool pool(size_t(settings.buffer_pool_mib) * 1024 * 1024);
    smbx::buffer_pool::set_global(&pool);

    smbx::control_client control(channel, wake_control, wake_dataplane);
    // Request threads run handlers, which wait for the file system or the control plane;
    // a few per worker keep the cores busy while some of them wait. The workers only
    // move bytes and never block.
    unsigned workers = std::max(1u, settings.workers);
    unsigned threads = std::max(4u, workers * 2);
    smbx::request_executor executor(threads);
    smbx::smb_server server(settings, control, executor);
    // The first worker polls the control ring along with its network (below).
    control.start([&server] { return server.status(); }, false);

    // One worker per core, each with its own TCP transport; the first one accepts and
    // deals connections out to all of them. With `transport = dpdk`, each worker gets
    // the user-space stack on its queue pair of the DPDK port instead.
    auto cpus = smbx::worker::allowed_cpus();
    std::vector<std::unique_ptr<smbx::worker>> pool_workers;
    std::vector<std::unique_ptr<smbx::tcp_transport>> transports;
    std::vector<smbx::tcp_transport*> group;
    for (unsigned i = 0; i < workers; ++i) {
        int cpu = cpus.empty() ? -1 : cpus[i % cpus.size()];
        pool_workers.push_back(std::make_unique<smbx::worker>(i, cpu, settings.idle));
        if (i == 0) {
            pool_workers.back()->add_poller(&control);
        }
        if (settings.transport == smbx::transport_kind::dpdk) {
            continue;
        }
        auto zc = settings.zero_copy_send == 0   ? smbx::tcp_transport::zero_copy::no
                  : settings.zero_copy_send == 1 ? smbx::tcp_transport::zero_copy::yes
                                                 : smbx::tcp_transport::zero_copy::automatic;
        transports.push_back(std::make_unique<smbx::tcp_transport>(
            i == 0 ? listen_fds : std::vector<int>{}, server, *pool_workers.back(), zc));
        pool_workers.back()->add_poller(transports.back().get());
        group.push_back(transports.back().get());
    }
    if (!transports.empty()) {
        transports.front()->set_group(group);
    }
    std::unique_ptr<smbx::dpdk::dpdk_setup> dpdk;
    if (settings.transport == smbx::transport_kind::dpdk) {
        dpdk = smbx::dpdk::dpdk_setup::create(settings, server, pool_workers);
        if (!dpdk) {
            return 1;
        }
    }

    // SMB Direct: one transport per worker. The first worker's listens (one RDMA CM
    // listener per address x port can exist) and deals the connections out to all of
    // them, as the TCP transport does; the pool is registered with each device once,
    // when its first client comes in.
    std::vector<std::unique_ptr<smbx::rdma::smbd_transport>> smbdirect;
    if (settings.rdma_address_count && settings.rdma_port_count && !devices.empty()) {
        smbx::rdma::smbd_transport_settings rs;
        rs.addresses.clear();
        for (uint32_t i = 0; i < std::min<uint32_t>(settings.rdma_address_count, 8); ++i) {
            char text[INET_ADDRSTRLEN];
            in_addr a{settings.rdma_addresses[i]};
            rs.addresses.push_back(inet_ntop(AF_INET, &a, text, sizeof text));
        }
        rs.ports.assign(settings.rdma_ports,
                        settings.rdma_ports + std::min<uint32_t>(settings.rdma_port_count, 4));
        rs.pool_region = pool.region();
        rs.pool_size = pool.region_size();
        for (auto& w : pool_workers) {
            smbdirect.push_back(std::make_unique<smbx::rdma::smbd_transport>(rs, server, w.get()));
        }
        if (smbdirect.front()->listen()) {
            std::vector<smbx::rdma::smbd_transport*> group;
            for (size_t i = 0; i < smbdirect.size(); ++i) {
                group.push_back(smbdirect[i].get());
                pool_workers[i]->add_poller(smbdirect[i].get());
            }
            smbdirect.front()->set_group(group);
        } else {
            LOG_NOTICE("SMB Direct: no listener could be set up; serving TCP only");
            smbdirect.clear();
        }
    } else if (settings.rdma_address_count && settings.rdma_port_count) {
        LOG_INFO("SMB Direct: no RDMA device visible; serving TCP only");
    }

    // What FSCTL_QUERY_NETWORK_INTERFACE_INFO reports: the TCP listeners' addresses,
    // RDMA_CAPABLE where SMB Direct listens as well.
    std::vector<uint32_t> tcp_addresses;
    for (int fd : listen_fds) {
        sockaddr_in sin{};
        socklen_t len = sizeof sin;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len) == 0 &&
            sin.sin_family == AF_INET) {
            tcp_addresses.push_back(sin.sin_addr.s_addr);
        }
    }
    if (settings.transport == smbx::transport_kind::dpdk) {
        tcp_addresses.push_back(htonl(settings.dpdk_address));
    }
    smbx::smb2::set_network_interfaces(smbx::smb2::describe_addresses(
        tcp_addresses,
        smbdirect.empty() ? std::vector<uint32_t>{} : smbdirect.front()->listening_addresses(),
        workers > 1));

    g_stop_fd = eventfd(0, EFD_CLOEXEC);
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
    for (auto& w : pool_workers) {
        w->start();
    }
    LOG_NOTICE("serving SMB2 on %zu listening socket(s): %u worker(s), idle policy %s, "
               "%u request threads",
               listen_fds.size(), workers,
               settings.idle == smbx::idle_policy::poll ? "poll" : "adaptive", threads);
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
    executor.stop();
    // Followers first: their queue pairs live in the listener's protection domains.
    while (!smbdirect.empty()) {
        smbdirect.pop_back();
    }
    transports.clear();
    dpdk.reset();
    return 0;
}
