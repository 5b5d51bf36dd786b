// smbx-control: owns the configuration, the users and authentication, creates the
// control channel and the listening sockets, and supervises smbx-dataplane.
//   smbx-control [--config FILE] [--dataplane PATH]
// SIGTERM/SIGINT: stop the data plane (SIGKILL after 5 s) and exit 0.
// SIGHUP: re-read the configuration and, if it is valid, re-exec this program,
// handing over the channel, the eventfds, the listening sockets, the admin socket and
// the data plane (still our child after exec) in SMBX_* environment variables. The
// data plane and its sessions keep running; in-flight authentications are lost.
#include <arpa/inet.h>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sched.h>
#include <string>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include <vector>

#include <openssl/rand.h>

#include "common/control_channel.hh"
#include "common/log.hh"
#include "control/admin_socket.hh"
#include "control/auth/authenticator.hh"
#include "control/config.hh"
#include "control/control_service.hh"
#include "control/leases/lease_handover.hh"
#include "control/listen_sockets.hh"
#include "control/metrics_exposition.hh"
#include "control/metrics_server.hh"
#include "control/status_json.hh"
#include "control/supervisor.hh"
#include "control/user_db.hh"

using namespace smbx;

namespace {

struct options {
    std::string config_path; // empty: the built-in default
    std::string dataplane_path;
};

// Descriptors that survive a re-exec of smbx-control.
struct handover {
    int channel_fd = -1;
    int wake_control_fd = -1;
    int wake_dataplane_fd = -1;
    int admin_fd = -1;
    std::string admin_path;
    pid_t dataplane_pid = -1;
    std::vector<int> listen_fds;
};

std::optional<options> parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "--config" || a == "--dataplane") && i + 1 < argc) {
            (a == "--config" ? o.config_path : o.dataplane_path) = argv[++i];
        } else {
            return std::nullopt;
        }
    }
    if (o.dataplane_path.empty()) {
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        std::string dir = n > 0 ? std::string(self, size_t(n)) : std::string(argv[0]);
        dir = dir.substr(0, dir.rfind('/') + 1);
        o.dataplane_path = dir + "smbx-dataplane";
    }
    return o;
}

// Configuration with share paths resolved; diagnostics printed to stderr.
std::optional<config::server_config> load_config(const options& o) {
    auto r = o.config_path.empty() ? config::load_default() : config::load_file(o.config_path);
    std::string file = o.config_path.empty() ? "<built-in default>" : o.config_path;
    if (r.ok()) {
        for (auto& e : config::resolve_share_paths(r.config, file)) {
            r.errors.push_back(std::move(e));
        }
    }
    for (const auto& w : r.warnings) {
        LOG_WARN("%s", w.to_string().c_str());
    }
    for (const auto& e : r.errors) {
        LOG_ERROR("%s", e.to_string().c_str());
    }
    if (!r.ok()) {
        return std::nullopt;
    }
    return std::move(r.config);
}

int env_int(const char* name) {
    const char* v = getenv(name);
    return v ? atoi(v) : -1;
}

// A handover from an earlier image of smbx-control, if this is a re-exec.
std::optional<handover> take_handover() {
    if (!getenv("SMBX_CHANNEL_FD")) {
        return std::nullopt;
    }
    handover h;
    h.channel_fd = env_int("SMBX_CHANNEL_FD");
    h.wake_control_fd = env_int("SMBX_WAKE_CONTROL_FD");
    h.wake_dataplane_fd = env_int("SMBX_WAKE_DATAPLANE_FD");
    h.admin_fd = env_int("SMBX_ADMIN_FD");
    h.dataplane_pid = env_int("SMBX_DATAPLANE_PID");
    if (const char* p = getenv("SMBX_ADMIN_PATH")) {
        h.admin_path = p;
    }
    if (const char* l = getenv("SMBX_LISTEN_FDS")) {
        for (const char* p = l; *p;) {
            h.listen_fds.push_back(atoi(p));
            p = strchr(p, ',');
            p = p ? p + 1 : "";
        }
    }
    // Not for the data plane's environment.
    for (const char* v :
         {"SMBX_CHANNEL_FD", "SMBX_WAKE_CONTROL_FD", "SMBX_WAKE_DATAPLANE_FD", "SMBX_ADMIN_FD",
          "SMBX_ADMIN_PATH", "SMBX_DATAPLANE_PID", "SMBX_LISTEN_FDS"}) {
        unsetenv(v);
    }
    return h;
}

std::vector<int> handover_fds(const handover& h) {
    std::vector<int> fds{h.channel_fd, h.wake_control_fd, h.wake_dataplane_fd, h.admin_fd};
    fds.insert(fds.end(), h.listen_fds.begin(), h.listen_fds.end());
    return fds;
}

// Re-exec this program keeping the descriptors in `h`. Returns only on failure.
void reexec(char** argv, const handover& h) {
    std::string listen;
    for (int fd : h.listen_fds) {
        listen += (listen.empty() ? "" : ",") + std::to_string(fd);
    }
    setenv("SMBX_CHANNEL_FD", std::to_string(h.channel_fd).c_str(), 1);
    setenv("SMBX_WAKE_CONTROL_FD", std::to_string(h.wake_control_fd).c_str(), 1);
    setenv("SMBX_WAKE_DATAPLANE_FD", std::to_string(h.wake_dataplane_fd).c_str(), 1);
    setenv("SMBX_ADMIN_FD", std::to_string(h.admin_fd).c_str(), 1);
    setenv("SMBX_ADMIN_PATH", h.admin_path.c_str(), 1);
    setenv("SMBX_DATAPLANE_PID", std::to_string(h.dataplane_pid).c_str(), 1);
    setenv("SMBX_LISTEN_FDS", listen.c_str(), 1);
    for (int fd : handover_fds(h)) {
        set_cloexec(fd, false);
    }
    if (h.dataplane_pid > 0) {
        LOG_NOTICE("re-executing smbx-control (data plane pid %d keeps running)",
                   int(h.dataplane_pid));
    } else {
        LOG_NOTICE("re-executing smbx-control");
    }
    execv("/proc/self/exe", argv);
    LOG_ERROR("re-exec failed: %s; continuing with the old configuration", strerror(errno));
    for (int fd : handover_fds(h)) {
        set_cloexec(fd, true);
    }
    take_handover(); // clears the environment again
}

// Everything the data plane reads at start. The server GUID is kept across re-execs.
bool fill_settings(dataplane_settings& s, const config::server_config& cfg, bool new_guid) {
    // `workers = auto`: one per CPU this process may run on (its affinity mask, which
    // taskset or a cgroup may have narrowed), not every CPU online.
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    int cpus = sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : 1;
    s.workers = cfg.workers ? cfg.workers : uint32_t(cpus > 0 ? cpus : 1);
    s.idle = cfg.idle;
    s.buffer_pool_mib = cfg.buffer_pool_mib;
    s.zero_copy_send = cfg.zero_copy_send;
    s.multichannel = cfg.multichannel ? 1 : 0;
    s.leases = cfg.leases ? 1 : 0;
    s.transport = cfg.dpdk.transport;
    s.smb_port = cfg.ports.empty() ? 445 : cfg.ports.front();
    s.dpdk_port = cfg.dpdk.port;
    s.dpdk_mtu = cfg.dpdk.mtu;
    s.dpdk_address = config::ipv4_host_order(cfg.dpdk.address);
    s.dpdk_netmask = cfg.dpdk.netmask;
    s.dpdk_gateway = config::ipv4_host_order(cfg.dpdk.gateway);
    std::memset(s.dpdk_args, 0, sizeof s.dpdk_args);
    std::memcpy(s.dpdk_args, cfg.dpdk.args.data(),
                std::min(cfg.dpdk.args.size(), sizeof s.dpdk_args - 1));
    s.dpdk_impair_drop_ppm = uint32_t(cfg.dpdk.impair_drop * 1e6 + 0.5);
    s.dpdk_impair_duplicate_ppm = uint32_t(cfg.dpdk.impair_duplicate * 1e6 + 0.5);
    s.dpdk_impair_reorder_ppm = uint32_t(cfg.dpdk.impair_reorder * 1e6 + 0.5);
    s.dpdk_impair_seed = cfg.dpdk.impair_seed;
    if (cfg.dpdk.impaired()) {
        LOG_WARN("TEST MODE: 'dpdk impair' drops %g, duplicates %g and reorders %g of the "
                 "frames on the DPDK port; never use in production",
                 cfg.dpdk.impair_drop, cfg.dpdk.impair_duplicate, cfg.dpdk.impair_reorder);
    }
    s.rdma_address_count = 0;
    s.rdma_port_count = 0;
    if (cfg.smb_direct) {
        for (const auto& itf : cfg.interfaces) {
            in_addr a{};
            if (s.rdma_address_count < std::size(s.rdma_addresses) &&
                inet_pton(AF_INET, itf.address.c_str(), &a) == 1) {
                s.rdma_addresses[s.rdma_address_count++] = a.s_addr;
            }
        }
        for (uint16_t port : cfg.rdma_ports) {
            s.rdma_ports[s.rdma_port_count++] = port; // at most 4 (config.cc)
        }
    }
    s.min_dialect = cfg.min_dialect;
    s.max_dialect = cfg.max_dialect;
    s.signing = cfg.signing;
    s.encrypt = cfg.encrypt;
    s.log_level = cfg.log_level;
    if (new_guid && RAND_bytes(s.server_guid, sizeof s.server_guid) != 1) {
        LOG_ERROR("RAND_bytes failed");
        return false;
    }
    std::memset(s.netbios_name, 0, sizeof s.netbios_name);
    std::memcpy(s.netbios_name, cfg.netbios_name.data(),
                std::min(cfg.netbios_name.size(), sizeof s.netbios_name - 1));
    bytes token = auth::spnego_negotiate_token();
    if (token.size() > sizeof s.negotiate_token) {
        LOG_ERROR("SPNEGO negotiate token too large (%zu bytes)", token.size());
        return false;
    }
    std::memcpy(s.negotiate_token, token.data(), token.size());
    s.negotiate_token_length = uint32_t(token.size());
    return true;
}

// Fresh start: channel, eventfds, listening sockets, admin socket.
std::optional<handover> create_resources(const config::server_config& cfg,
                                         control_channel& channel) {
    handover h;
    if (!channel.create()) {
        LOG_ERROR("cannot create the control channel: %s", strerror(errno));
        return std::nullopt;
    }
    h.channel_fd = channel.fd();
    set_cloexec(h.channel_fd, true); // passed on purpose, never by accident
    h.wake_control_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    h.wake_dataplane_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (h.wake_control_fd < 0 || h.wake_dataplane_fd < 0) {
        LOG_ERROR("eventfd: %s", strerror(errno));
        return std::nullopt;
    }
    // With `transport = dpdk` the user-space stack listens on the DPDK port; kernel
    // sockets would accept connections nothing serves.
    listen_result listening;
    if (cfg.dpdk.transport != transport_kind::dpdk) {
        listening = open_listen_sockets(cfg);
    }
    if (!listening.error.empty()) {
        LOG_ERROR("cannot listen on %s", listening.error.c_str());
        return std::nullopt;
    }
    auto& s = channel.layout().settings;
    if (listening.sockets.size() > std::size(s.listen_fds)) {
        LOG_ERROR("too many listening sockets (%zu; at most %zu interfaces x ports)",
                  listening.sockets.size(), std::size(s.listen_fds));
        return std::nullopt;
    }
    for (const auto& l : listening.sockets) {
        h.listen_fds.push_back(l.fd);
    }
    h.admin_path = cfg.private_dir + "/smbx-admin.sock";
    auto admin = open_admin_socket(h.admin_path);
    if (!admin.socket) {
        LOG_ERROR("admin socket: %s", admin.error.c_str());
        return std::nullopt;
    }
    h.admin_fd = admin.socket->fd();
    return h;
}

void log_summary(const config::server_config& cfg, const handover& h, const user_db& users) {
    for (int fd : h.listen_fds) {
        LOG_NOTICE("listening on %s", socket_address(fd).c_str());
    }
    if (cfg.dpdk.transport == transport_kind::dpdk) {
        LOG_NOTICE("transport dpdk: serving %s port %u on DPDK port %u, no kernel socket",
                   cfg.dpdk.address.c_str(), cfg.ports.empty() ? 445u : unsigned(cfg.ports.front()),
                   unsigned(cfg.dpdk.port));
    }
    for (const auto& s : cfg.shares) {
        LOG_NOTICE("share [%s] -> %s (%s%s)", s.name.c_str(), s.path.c_str(),
                   s.read_only ? "read only" : "writable", s.guest_ok ? ", guest ok" : "");
    }
    LOG_NOTICE("protocols %s..%s, %zu users, admin socket %s",
               config::protocol_name(cfg.min_dialect).c_str(),
               config::protocol_name(cfg.max_dialect).c_str(), users.size(), h.admin_path.c_str());
}

// `status` (text) or `status json`, for the admin socket.
std::string status_answer(control_service& service, const supervisor& sup, bool json) {
    if (sup.pid() <= 0) {
        return "error: the data plane is not running (restarting)\n";
    }
    auto reply = service.query_status(std::chrono::seconds(2));
    if (!reply) {
        return "error: the data plane did not answer within 2 s\n";
    }
    if (json) {
        return format_status_json(*reply, int(sup.pid()));
    }
    return "data plane pid " + std::to_string(sup.pid()) + "\n" + format_status(*reply);
}

// The Prometheus exposition, for GET /metrics and the admin socket's `metrics`.
std::string metrics_answer(control_service& service, const supervisor& sup) {
    if (sup.pid() <= 0) {
        return format_metrics(std::nullopt);
    }
    return format_metrics(service.query_status(std::chrono::seconds(2)));
}

} // namespace

int main(int argc, char** argv) {
    log::set_process_name("smbx-control");
    auto opts = parse_args(argc, argv);
    if (!opts) {
        std::fprintf(stderr, "usage: smbx-control [--config FILE] [--dataplane PATH]\n");
        return 1;
    }
    auto inherited = take_handover();
    auto loaded = load_config(*opts);
    if (!loaded) {
        return 1;
    }
    config::server_config cfg = std::move(*loaded);
    log::set_level(cfg.log_level);
    if (!inherited && access(opts->dataplane_path.c_str(), X_OK) != 0) {
        LOG_ERROR("data plane %s: %s", opts->dataplane_path.c_str(), strerror(errno));
        return 1;
    }

    user_db users(cfg.private_dir);
    if (auto e = users.ensure_dir()) {
        LOG_ERROR("%s", e->c_str());
        return 1;
    }
    if (auto e = users.load()) {
        LOG_ERROR("user database: %s", e->c_str());
        return 1;
    }

    // Signals arrive through a signalfd; they stay blocked across the re-exec.
    sigset_t sigs;
    sigemptyset(&sigs);
    for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP}) {
        sigaddset(&sigs, s);
    }
    sigprocmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);

    control_channel channel;
    handover h;
    if (inherited) {
        h = *inherited;
        for (int fd : handover_fds(h)) {
            if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
                LOG_ERROR("re-exec: inherited descriptor %d is not open", fd);
                return 1;
            }
        }
        if (!channel.attach(h.channel_fd)) {
            LOG_ERROR("cannot attach to the inherited control channel (fd %d)", h.channel_fd);
            return 1;
        }
        for (int fd : handover_fds(h)) {
            set_cloexec(fd, true);
        }
    } else if (auto created = create_resources(cfg, channel)) {
        h = *created;
    } else {
        return 1;
    }
    auto& settings = channel.layout().settings;
    if (!fill_settings(settings, cfg, !inherited)) {
        return 1;
    }
    settings.listen_fd_count = uint32_t(h.listen_fds.size());
    std::copy(h.listen_fds.begin(), h.listen_fds.end(), settings.listen_fds);
    admin_socket admin(h.admin_fd, h.admin_path);

    auth::auth_policy policy;
    policy.netbios_name = cfg.netbios_name;
    policy.domain = cfg.workgroup;
    policy.allow_guest = cfg.guest_mapping == config::map_to_guest::bad_user;
    policy.allow_anonymous = cfg.restrict_anonymous == 0;
    auth::authenticator authenticator(policy, [&users](std::string_view name) {
        // `smbxctl user add` takes effect without a restart.
        if (auto e = users.refresh()) {
            LOG_WARN("user database: %s (keeping the previous contents)", e->c_str());
        }
        return users.lookup(name);
    });
    auth_backend backend{[&](const ipc::auth_request& r) { return authenticator.step(r); },
                         [&](uint64_t id) { authenticator.abandon(id); }};
    control_service service(cfg, backend, channel, h.wake_control_fd, h.wake_dataplane_fd);

    std::vector<int> inherit{h.channel_fd, h.wake_control_fd, h.wake_dataplane_fd};
    inherit.insert(inherit.end(), h.listen_fds.begin(), h.listen_fds.end());
    supervisor sup({opts->dataplane_path,
                    {"--channel-fd", std::to_string(h.channel_fd), "--wake-control-fd",
                     std::to_string(h.wake_control_fd), "--wake-dataplane-fd",
                     std::to_string(h.wake_dataplane_fd)},
                    inherit});
    log_summary(cfg, h, users);
    auto lease_state = inherited ? leases::take_lease_state() : std::nullopt;
    if (inherited && h.dataplane_pid > 0) {
        sup.adopt(h.dataplane_pid);
        LOG_NOTICE("re-executed with the new configuration; data plane pid %d", int(sup.pid()));
        if (sup.pid() <= 0) {
            service.reset_rings();
        } else if (lease_state) {
            // The same data plane, its opens and their clients' caching: the arbiter
            // goes on where the old image left it.
            if (service.leases().restore(*lease_state, std::chrono::steady_clock::now())) {
                LOG_NOTICE("oplock and lease state taken over: %zu owners",
                           service.leases().arbiter().owners());
            } else {
                LOG_ERROR("the lease state handed over does not read; starting without it");
            }
        }
    } else {
        if (inherited) {
            service.reset_rings(); // nothing runs on the other side yet
        }
        sup.start();
    }

    std::unique_ptr<metrics_server> metrics;
    if (cfg.metrics_port) {
        std::string error;
        metrics = metrics_server::start(cfg.metrics_host, cfg.metrics_port, error);
        if (!metrics) {
            LOG_ERROR("metrics address: %s", error.c_str());
            sup.stop(std::chrono::seconds(5));
            return 1;
        }
        LOG_NOTICE("metrics at http://%s:%u/metrics", cfg.metrics_host.c_str(),
                   unsigned(cfg.metrics_port));
    }
    int metrics_fd = metrics ? metrics->wake_fd() : -1;

    int ep = epoll_create1(EPOLL_CLOEXEC);
    for (int fd : {sfd, h.wake_control_fd, admin.fd(), metrics_fd}) {
        if (fd < 0) {
            continue;
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    for (;;) {
        // Also look at the ring every second: a lost wake-up must not strand a request.
        int timeout = sup.timeout_ms();
        timeout = timeout < 0 ? 1000 : std::min(timeout, 1000);
        epoll_event events[8];
        int n = epoll_wait(ep, events, 8, timeout);
        if (n < 0 && errno != EINTR) {
            LOG_ERROR("epoll_wait: %s", strerror(errno));
            return 1;
        }
        bool hangup = false;
        for (int i = 0; i < n; ++i) {
            int fd = events[i].data.fd;
            if (fd == admin.fd()) {
                admin.serve_one([&](std::string_view cmd) -> std::string {
                    if (cmd == "status" || cmd == "status json") {
                        return status_answer(service, sup, cmd == "status json");
                    }
                    if (cmd == "metrics") {
                        return metrics_answer(service, sup);
                    }
                    return "error: unknown command '" + std::string(cmd) + "'\n";
                });
                continue;
            }
            if (fd == metrics_fd) {
                metrics->answer_waiting([&] { return metrics_answer(service, sup); });
                continue;
            }
            if (fd != sfd) {
                continue;
            }
            signalfd_siginfo si{};
            while (read(sfd, &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGCHLD && sup.reap()) {
                    service.reset_rings();
                } else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
                    LOG_NOTICE("%s: stopping", strsignal(int(si.ssi_signo)));
                    metrics.reset();
                    sup.stop(std::chrono::seconds(5));
                    unlink(h.admin_path.c_str());
                    return 0;
                } else if (si.ssi_signo == SIGHUP) {
                    hangup = true;
                }
            }
        }
        service.on_wake();
        service.tick(std::chrono::steady_clock::now());
        sup.tick();
        if (hangup) {
            LOG_NOTICE("SIGHUP: reloading the configuration");
            auto fresh = load_config(*opts);
            if (!fresh) {
                LOG_ERROR("the new configuration is invalid; keeping the running one");
                continue;
            }
            if (fresh->interfaces.size() != cfg.interfaces.size() || fresh->ports != cfg.ports) {
                LOG_WARN("changes to 'interfaces' and 'smb ports' need a full restart");
            }
            h.dataplane_pid = sup.pid();
            metrics.reset(); // its port is bound again by the new image
            metrics_fd = -1; // (reexec returns only if it failed: no metrics then)
            // The clients' oplocks and leases outlive this image with the data plane.
            int lease_fd = leases::hand_over_lease_state(
                service.leases().snapshot(std::chrono::steady_clock::now()));
            reexec(argv, h);
            leases::cancel_lease_handover(lease_fd);
        }
    }
}
