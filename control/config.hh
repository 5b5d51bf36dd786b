// smbx.conf: Samba's smb.conf syntax and key names (a subset), plus a few smbx-only
// keys. Parsing never exits or logs: it returns the configuration together with
// warnings (unknown keys) and errors (bad values), each naming file and line, and
// the caller decides what to print and whether to stop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/control_channel.hh"
#include "control/config_dpdk.hh"

namespace smbx::config {

struct diagnostic {
    std::string file;
    int line = 0; // 0: not tied to a line (e.g. the file cannot be read)
    std::string message;

    std::string to_string() const; // "file:line: message"
};

// One `interfaces` entry: an IPv4 address, optionally with a /prefix (kept for
// display; smbx listens on the address itself).
struct interface_address {
    std::string address; // dotted quad as given (validated)
    int prefix_length = 32;
};

struct share_config {
    std::string name; // as written in the section header
    std::string path; // as written; canonical after resolve_share_paths()
    std::string comment;
    bool read_only = true; // Samba's default
    bool browseable = true;
    bool guest_ok = false;
    bool direct_io = false;                // smbx-only: O_DIRECT for file data
    bool oplocks = true;                   // `oplocks`: oplocks and leases granted
    bool level2_oplocks = true;            // `level2 oplocks`
    std::vector<std::string> valid_users;  // empty: everyone
    std::optional<encrypt_policy> encrypt; // unset: the global `server smb encrypt`
    int line = 0;                          // line of the section header
};

enum class map_to_guest { never, bad_user };

struct server_config {
    std::vector<interface_address> interfaces{{"127.0.0.1", 32}};
    std::vector<uint16_t> ports{445};
    uint16_t min_dialect = 0x0202;
    uint16_t max_dialect = 0x0311;
    signing_policy signing = signing_policy::if_required;
    encrypt_policy encrypt = encrypt_policy::if_required;
    std::string private_dir = "/var/lib/smbx/private";
    int log_level = 1;
    std::string netbios_name = "SMBX";
    std::string workgroup = "WORKGROUP";
    map_to_guest guest_mapping = map_to_guest::never;
    int restrict_anonymous = 0; // 0 allows anonymous sessions
    uint32_t workers = 0;       // 0: `auto`, one per CPU the process may use
    idle_policy idle = idle_policy::adaptive;
    uint32_t buffer_pool_mib = 128; // the data plane's buffer pool (hugepages if any)
    uint8_t zero_copy_send = 2;     // 0 no, 1 yes, 2 auto (not towards loopback peers)
    dpdk_config dpdk;               // `transport` and the `dpdk ...` parameters
    // SMB Direct (smbx-only keys): listeners on the `interfaces` addresses that have an
    // RDMA device, one per `rdma ports` entry; `smb direct = no` turns them off.
    bool smb_direct = true;
    // `server multi channel support` (Samba's key): SESSION_SETUP may bind further
    // connections to a session (MS-SMB2 3.3.5.5), e.g. SMB Direct ones.
    bool multichannel = true;
    bool leases = true; // `smb2 leases` (Samba's key): offer SMB2_GLOBAL_CAP_LEASING
    std::vector<uint16_t> rdma_ports{5445, 445};
    // `metrics address = IP:PORT` (smbx-only): smbx-control serves Prometheus' text
    // format at http://IP:PORT/metrics. Port 0: off (the default).
    std::string metrics_host;
    uint16_t metrics_port = 0;
    std::vector<share_config> shares; // IPC$ is implicit and not listed here

    // Case-insensitive share lookup among the configured (disk) shares.
    const share_config* find_share(std::string_view name) const;
    // The share's effective `smb encrypt`.
    encrypt_policy share_encrypt(const share_config& s) const {
        return s.encrypt.value_or(encrypt);
    }
};

struct load_result {
    server_config config;
    std::vector<diagnostic> warnings;
    std::vector<diagnostic> errors;

    bool ok() const { return errors.empty(); }
};

// Parse configuration text; file_name only labels diagnostics.
load_result parse(std::string_view text, std::string_view file_name);
// Read and parse a file; an unreadable file is an error.
load_result load_file(const std::string& path);
// The configuration used when no --config is given.
std::string_view embedded_default_text();
load_result load_default();

// Replace each share path with its realpath(); a missing path is an error naming the
// share's line. Done at start-up by smbx-control, not by the parser (tests parse
// configs whose paths need not exist).
std::vector<diagnostic> resolve_share_paths(server_config& cfg, std::string_view file_name);

// Value parsers, exposed for smbxctl and tests.
std::optional<bool> parse_bool(std::string_view v);
std::optional<uint16_t> parse_protocol(std::string_view v);
std::string protocol_name(uint16_t dialect);
std::optional<signing_policy> parse_signing(std::string_view v);
std::optional<encrypt_policy> parse_encrypt(std::string_view v);
bool iequals(std::string_view a, std::string_view b);

} // namespace smbx::config
