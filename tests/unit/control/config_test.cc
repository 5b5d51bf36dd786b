#include "control/config.hh"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::config;

namespace {

load_result parse_ok(std::string_view text) {
    auto r = parse(text, "test.conf");
    EXPECT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    return r;
}

// The first error's line, or -1.
int error_line(const load_result& r) {
    return r.errors.empty() ? -1 : r.errors[0].line;
}

bool error_mentions(const load_result& r, std::string_view what) {
    for (const auto& e : r.errors) {
        if (e.to_string().find(what) != std::string::npos) {
            return true;
        }
    }
    return false;
}

} // namespace

TEST(config, defaults_of_empty_file) {
    auto r = parse_ok("");
    const auto& c = r.config;
    ASSERT_EQ(c.interfaces.size(), 1u);
    EXPECT_EQ(c.interfaces[0].address, "127.0.0.1");
    EXPECT_EQ(c.ports, std::vector<uint16_t>{445});
    EXPECT_EQ(c.min_dialect, 0x0202);
    EXPECT_EQ(c.max_dialect, 0x0311);
    EXPECT_EQ(c.signing, signing_policy::if_required);
    EXPECT_EQ(c.encrypt, encrypt_policy::if_required);
    EXPECT_EQ(c.private_dir, "/var/lib/smbx/private");
    EXPECT_EQ(c.log_level, 1);
    EXPECT_EQ(c.netbios_name, "SMBX");
    EXPECT_EQ(c.workgroup, "WORKGROUP");
    EXPECT_EQ(c.guest_mapping, map_to_guest::never);
    EXPECT_EQ(c.restrict_anonymous, 0);
    EXPECT_EQ(c.workers, 0u);
    EXPECT_TRUE(c.smb_direct);
    EXPECT_EQ(c.rdma_ports, (std::vector<uint16_t>{5445, 445}));
    EXPECT_TRUE(c.shares.empty());
    EXPECT_TRUE(r.warnings.empty());
}

TEST(config, share_defaults) {
    auto r = parse_ok("[data]\npath = /srv/data\n");
    ASSERT_EQ(r.config.shares.size(), 1u);
    const auto& s = r.config.shares[0];
    EXPECT_EQ(s.name, "data");
    EXPECT_EQ(s.path, "/srv/data");
    EXPECT_TRUE(s.read_only);
    EXPECT_TRUE(s.browseable);
    EXPECT_FALSE(s.guest_ok);
    EXPECT_FALSE(s.direct_io);
    EXPECT_TRUE(s.oplocks);
    EXPECT_TRUE(s.level2_oplocks);
    EXPECT_TRUE(s.valid_users.empty());
    EXPECT_FALSE(s.encrypt.has_value());
    EXPECT_EQ(r.config.share_encrypt(s), encrypt_policy::if_required);
    EXPECT_EQ(s.comment, "");
    EXPECT_EQ(s.line, 1);
}

TEST(config, every_global_key) {
    auto r = parse_ok(R"(
# comment
; another comment
[global]
    interfaces = 10.0.0.1/24, 192.168.1.5
    smb ports = 445 4455
    server min protocol = SMB2_10
    server max protocol = SMB3_02
    server signing = mandatory
    server smb encrypt = desired
    private dir = /tmp/priv
    log level = 3
    netbios name = fileserver
    workgroup = corp
    map to guest = Bad User
    restrict anonymous = 2
    workers = 4
    smb direct = no
    rdma ports = 5445
)");
    const auto& c = r.config;
    ASSERT_EQ(c.interfaces.size(), 2u);
    EXPECT_EQ(c.interfaces[0].address, "10.0.0.1");
    EXPECT_EQ(c.interfaces[0].prefix_length, 24);
    EXPECT_EQ(c.interfaces[1].address, "192.168.1.5");
    EXPECT_EQ(c.interfaces[1].prefix_length, 32);
    EXPECT_EQ(c.ports, (std::vector<uint16_t>{445, 4455}));
    EXPECT_EQ(c.min_dialect, 0x0210);
    EXPECT_EQ(c.max_dialect, 0x0302);
    EXPECT_EQ(c.signing, signing_policy::mandatory);
    EXPECT_EQ(c.encrypt, encrypt_policy::desired);
    EXPECT_EQ(c.private_dir, "/tmp/priv");
    EXPECT_EQ(c.log_level, 3);
    EXPECT_EQ(c.netbios_name, "FILESERVER");
    EXPECT_EQ(c.workgroup, "CORP");
    EXPECT_EQ(c.guest_mapping, map_to_guest::bad_user);
    EXPECT_EQ(c.restrict_anonymous, 2);
    EXPECT_EQ(c.workers, 4u);
    EXPECT_FALSE(c.smb_direct);
    EXPECT_EQ(c.rdma_ports, std::vector<uint16_t>{5445});
    EXPECT_TRUE(r.warnings.empty());
}

TEST(config, every_share_key) {
    auto r = parse_ok(R"([Projects]
path = /srv/projects
comment = Team projects
read only = no
browseable = no
valid users = alice, bob "carol smith"
smb encrypt = required
guest ok = yes
direct io = yes
oplocks = no
level2 oplocks = no
)");
    ASSERT_EQ(r.config.shares.size(), 1u);
    const auto& s = r.config.shares[0];
    EXPECT_EQ(s.name, "Projects");
    EXPECT_EQ(s.comment, "Team projects");
    EXPECT_FALSE(s.read_only);
    EXPECT_FALSE(s.browseable);
    EXPECT_EQ(s.valid_users, (std::vector<std::string>{"alice", "bob", "carol smith"}));
    EXPECT_EQ(s.encrypt, encrypt_policy::required);
    EXPECT_TRUE(s.guest_ok);
    EXPECT_TRUE(s.direct_io);
    EXPECT_FALSE(s.oplocks);
    EXPECT_FALSE(s.level2_oplocks);
}

TEST(config, writable_is_inverse_of_read_only_and_synonyms) {
    auto r = parse_ok("[a]\npath=/a\nwritable = yes\n[b]\npath=/b\nwriteable = no\n"
                      "[c]\npath=/c\nbrowsable = no\n");
    EXPECT_FALSE(r.config.shares[0].read_only);
    EXPECT_TRUE(r.config.shares[1].read_only);
    EXPECT_FALSE(r.config.shares[2].browseable);
}

TEST(config, keys_are_case_and_space_insensitive) {
    auto r = parse_ok("[GLOBAL]\nSMB PORTS = 4455\nNetBIOS  Name = x1\n[s]\nPATH=/s\nRead Only=No\n"
                      "readonly = no\n");
    EXPECT_EQ(r.config.ports, std::vector<uint16_t>{4455});
    EXPECT_EQ(r.config.netbios_name, "X1");
    EXPECT_FALSE(r.config.shares[0].read_only);
}

TEST(config, values_are_trimmed_and_comments_skipped) {
    auto r = parse_ok("  [ s ]  \n   path   =   /with space/dir   \n  # path = /not\n"
                      "\t; read only = no\n");
    ASSERT_EQ(r.config.shares.size(), 1u);
    EXPECT_EQ(r.config.shares[0].name, "s");
    EXPECT_EQ(r.config.shares[0].path, "/with space/dir");
    EXPECT_TRUE(r.config.shares[0].read_only);
}

TEST(config, booleans) {
    for (auto [text, value] : std::vector<std::pair<const char*, bool>>{{"yes", true},
                                                                        {"YES", true},
                                                                        {"true", true},
                                                                        {"1", true},
                                                                        {"no", false},
                                                                        {"False", false},
                                                                        {"0", false}}) {
        auto r = parse_ok(std::string("[s]\npath=/s\nguest ok = ") + text + "\n");
        EXPECT_EQ(r.config.shares[0].guest_ok, value) << text;
    }
}

TEST(config, bad_boolean_is_error_with_line) {
    auto r = parse("[s]\npath = /s\n\nread only = maybe\n", "my.conf");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(error_line(r), 4);
    EXPECT_EQ(r.errors[0].file, "my.conf");
    EXPECT_NE(r.errors[0].to_string().find("my.conf:4:"), std::string::npos);
    EXPECT_TRUE(error_mentions(r, "maybe"));
}

TEST(config, protocol_names) {
    struct {
        const char* name;
        uint16_t dialect;
    } cases[] = {{"SMB2_02", 0x0202}, {"SMB2_10", 0x0210}, {"SMB3_00", 0x0300},
                 {"SMB3_02", 0x0302}, {"SMB3_11", 0x0311}, {"SMB2", 0x0210},
                 {"SMB3", 0x0311},    {"smb3_00", 0x0300}};
    for (auto c : cases) {
        auto r = parse_ok(std::string("server max protocol = ") + c.name + "\n");
        EXPECT_EQ(r.config.max_dialect, c.dialect) << c.name;
    }
    EXPECT_EQ(protocol_name(0x0302), "SMB3_02");
}

TEST(config, bad_protocol_is_error) {
    auto r = parse("[global]\nserver max protocol = SMB4\n", "t");
    EXPECT_EQ(error_line(r), 2);
    EXPECT_TRUE(error_mentions(r, "SMB4"));
    // SMB1 as a maximum cannot work.
    EXPECT_FALSE(parse("server max protocol = NT1\n", "t").ok());
}

TEST(config, smb1_min_protocol_warns_and_means_smb2_02) {
    auto r = parse_ok("server min protocol = NT1\n");
    EXPECT_EQ(r.config.min_dialect, 0x0202);
    EXPECT_EQ(r.warnings.size(), 1u);
}

TEST(config, min_above_max_is_error) {
    auto r = parse("server min protocol = SMB3_11\nserver max protocol = SMB3_00\n", "t");
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(error_mentions(r, "above"));
}

TEST(config, signing_values) {
    struct {
        const char* v;
        signing_policy p;
    } cases[] = {
        {"default", signing_policy::if_required},     {"auto", signing_policy::if_required},
        {"if_required", signing_policy::if_required}, {"mandatory", signing_policy::mandatory},
        {"required", signing_policy::mandatory},      {"disabled", signing_policy::disabled},
        {"enabled", signing_policy::enabled}};
    for (auto c : cases) {
        auto r = parse_ok(std::string("server signing = ") + c.v + "\n");
        EXPECT_EQ(r.config.signing, c.p) << c.v;
    }
    EXPECT_EQ(error_line(parse("\nserver signing = sometimes\n", "t")), 2);
}

TEST(config, encrypt_values_including_legacy) {
    struct {
        const char* v;
        encrypt_policy p;
    } cases[] = {{"default", encrypt_policy::if_required},
                 {"if_required", encrypt_policy::if_required},
                 {"off", encrypt_policy::off},
                 {"desired", encrypt_policy::desired},
                 {"required", encrypt_policy::required},
                 {"yes", encrypt_policy::if_required},
                 {"no", encrypt_policy::off},
                 {"auto", encrypt_policy::desired},
                 {"mandatory", encrypt_policy::required}};
    for (auto c : cases) {
        auto r = parse_ok(std::string("server smb encrypt = ") + c.v + "\n");
        EXPECT_EQ(r.config.encrypt, c.p) << c.v;
    }
    EXPECT_FALSE(parse("server smb encrypt = strong\n", "t").ok());
    EXPECT_FALSE(parse("[s]\npath=/s\nsmb encrypt = strong\n", "t").ok());
}

TEST(config, share_inherits_global_encrypt_unless_set) {
    auto r = parse_ok("server smb encrypt = required\n[a]\npath=/a\n[b]\npath=/b\n"
                      "smb encrypt = off\n");
    EXPECT_EQ(r.config.share_encrypt(r.config.shares[0]), encrypt_policy::required);
    EXPECT_EQ(r.config.share_encrypt(r.config.shares[1]), encrypt_policy::off);
}

TEST(config, share_parameters_in_global_are_defaults) {
    auto r = parse_ok("[global]\nread only = no\nguest ok = yes\n[a]\npath=/a\n[b]\npath=/b\n"
                      "read only = yes\n");
    EXPECT_FALSE(r.config.shares[0].read_only);
    EXPECT_TRUE(r.config.shares[0].guest_ok);
    EXPECT_TRUE(r.config.shares[1].read_only);
}

TEST(config, bad_ports) {
    EXPECT_EQ(error_line(parse("\n\nsmb ports = 445 0\n", "t")), 3);
    EXPECT_FALSE(parse("smb ports = 70000\n", "t").ok());
    EXPECT_FALSE(parse("smb ports = http\n", "t").ok());
    EXPECT_FALSE(parse("smb ports =\n", "t").ok());
    EXPECT_EQ(parse_ok("smb ports = 445,445 139").config.ports, (std::vector<uint16_t>{445, 139}));
}

TEST(config, rdma_ports_and_smb_direct) {
    EXPECT_EQ(parse_ok("rdma ports = 445, 5445 445").config.rdma_ports,
              (std::vector<uint16_t>{445, 5445}));
    EXPECT_EQ(error_line(parse("\nrdma ports = 5445 0\n", "t")), 2);
    EXPECT_FALSE(parse("rdma ports = 70000\n", "t").ok());
    EXPECT_FALSE(parse("rdma ports =\n", "t").ok());
    // The data plane's settings hold at most four.
    EXPECT_TRUE(error_mentions(parse("rdma ports = 1 2 3 4 5\n", "t"), "at most 4"));
    EXPECT_TRUE(parse_ok("smb direct = yes").config.smb_direct);
    EXPECT_FALSE(parse("smb direct = maybe\n", "t").ok());
    auto r = parse_ok("[s]\npath = /x\nrdma ports = 445\n");
    EXPECT_EQ(r.warnings.size(), 1u) << "a global key in a share section";
}

TEST(config, bad_interfaces) {
    EXPECT_FALSE(parse("interfaces = eth0\n", "t").ok());
    EXPECT_FALSE(parse("interfaces = 10.0.0.1/33\n", "t").ok());
    EXPECT_FALSE(parse("interfaces = 300.0.0.1\n", "t").ok());
    EXPECT_FALSE(parse("interfaces = ::1\n", "t").ok());
    EXPECT_FALSE(parse("interfaces = \n", "t").ok());
}

TEST(config, bad_integers_and_names) {
    EXPECT_FALSE(parse("log level = loud\n", "t").ok());
    EXPECT_FALSE(parse("restrict anonymous = 3\n", "t").ok());
    EXPECT_FALSE(parse("workers = 0\n", "t").ok());
    EXPECT_FALSE(parse("workers = many\n", "t").ok());
    EXPECT_FALSE(parse("netbios name = muchtoolongforanetbiosname\n", "t").ok());
    EXPECT_FALSE(parse("map to guest = bad password\n", "t").ok());
    EXPECT_FALSE(parse("private dir = relative/path\n", "t").ok());
    EXPECT_EQ(parse_ok("workers = auto\n").config.workers, 0u);
    EXPECT_EQ(parse_ok("map to guest = never\n").config.guest_mapping, map_to_guest::never);
}

TEST(config, data_plane_keys) {
    auto d = parse_ok("").config;
    EXPECT_EQ(d.idle, idle_policy::adaptive);
    EXPECT_EQ(d.buffer_pool_mib, 128u);
    EXPECT_EQ(d.zero_copy_send, 2);
    EXPECT_EQ(parse_ok("idle policy = poll\n").config.idle, idle_policy::poll);
    EXPECT_EQ(parse_ok("Idle Policy = ADAPTIVE\n").config.idle, idle_policy::adaptive);
    EXPECT_FALSE(parse("idle policy = spin\n", "t").ok());
    EXPECT_EQ(parse_ok("buffer pool size = 512\n").config.buffer_pool_mib, 512u);
    EXPECT_EQ(parse_ok("buffer pool size = 256M\n").config.buffer_pool_mib, 256u);
    EXPECT_EQ(parse_ok("buffer pool size = 2G\n").config.buffer_pool_mib, 2048u);
    EXPECT_FALSE(parse("buffer pool size = 8M\n", "t").ok());
    EXPECT_FALSE(parse("buffer pool size = 65G\n", "t").ok());
    EXPECT_FALSE(parse("buffer pool size = lots\n", "t").ok());
    EXPECT_EQ(parse_ok("zero copy send = yes\n").config.zero_copy_send, 1);
    EXPECT_EQ(parse_ok("zero copy send = no\n").config.zero_copy_send, 0);
    EXPECT_EQ(parse_ok("zero copy send = auto\n").config.zero_copy_send, 2);
    EXPECT_FALSE(parse("zero copy send = sometimes\n", "t").ok());
    EXPECT_TRUE(d.leases);
    EXPECT_FALSE(parse_ok("smb2 leases = no\n").config.leases);
}

TEST(config, log_level_with_classes_uses_first_and_warns) {
    auto r = parse_ok("log level = 2 auth:5\n");
    EXPECT_EQ(r.config.log_level, 2);
    EXPECT_EQ(r.warnings.size(), 1u);
}

TEST(config, share_without_path_is_error_at_its_header) {
    auto r = parse("[global]\nworkgroup = x\n\n[nopath]\ncomment = oops\n", "t");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(error_line(r), 4);
    EXPECT_TRUE(error_mentions(r, "nopath"));
}

TEST(config, relative_share_path_is_error) {
    EXPECT_FALSE(parse("[s]\npath = srv\n", "t").ok());
}

TEST(config, unknown_key_is_warning_with_line_and_parsing_continues) {
    auto r = parse("[global]\nfrobnicate = yes\nworkgroup = after\n", "w.conf");
    EXPECT_TRUE(r.ok());
    ASSERT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.warnings[0].line, 2);
    EXPECT_EQ(r.warnings[0].to_string().rfind("w.conf:2:", 0), 0u);
    EXPECT_NE(r.warnings[0].message.find("frobnicate"), std::string::npos);
    EXPECT_EQ(r.config.workgroup, "AFTER");
}

TEST(config, global_key_in_share_warns) {
    auto r = parse_ok("[s]\npath = /s\nworkgroup = nope\n");
    EXPECT_EQ(r.warnings.size(), 1u);
    EXPECT_EQ(r.config.workgroup, "WORKGROUP");
}

TEST(config, garbage_line_and_bad_header_are_errors) {
    auto r = parse("[global]\nthis is not a parameter\n[broken\n", "t");
    ASSERT_EQ(r.errors.size(), 2u);
    EXPECT_EQ(r.errors[0].line, 2);
    EXPECT_EQ(r.errors[1].line, 3);
}

TEST(config, repeated_section_merges) {
    auto r = parse_ok("[s]\npath=/s\n[other]\npath=/o\n[S]\nread only = no\n");
    ASSERT_EQ(r.config.shares.size(), 2u);
    EXPECT_FALSE(r.config.shares[0].read_only);
}

TEST(config, ipc_and_special_sections_are_ignored_with_warning) {
    auto r = parse_ok("[IPC$]\npath=/x\n[homes]\nbrowseable = no\n");
    EXPECT_TRUE(r.config.shares.empty());
    EXPECT_EQ(r.warnings.size(), 2u);
}

TEST(config, line_continuation) {
    auto r = parse_ok("[s]\npath = /s\nvalid users = alice \\\n   bob\nguest ok = yes\n");
    EXPECT_EQ(r.config.shares[0].valid_users, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_TRUE(r.config.shares[0].guest_ok);
    // A later error's line number still counts physical lines.
    EXPECT_EQ(error_line(parse("comment = a \\\n b\nlog level = x\n", "t")), 3);
}

TEST(config, find_share_is_case_insensitive) {
    auto r = parse_ok("[Data]\npath=/d\n");
    EXPECT_NE(r.config.find_share("DATA"), nullptr);
    EXPECT_NE(r.config.find_share("data"), nullptr);
    EXPECT_EQ(r.config.find_share("dat"), nullptr);
}

TEST(config, embedded_default) {
    auto r = load_default();
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.warnings.empty());
    EXPECT_EQ(r.config.interfaces[0].address, "127.0.0.1");
    EXPECT_EQ(r.config.ports, std::vector<uint16_t>{445});
    EXPECT_EQ(r.config.private_dir, "/var/lib/smbx/private");
    ASSERT_EQ(r.config.shares.size(), 1u);
    EXPECT_EQ(r.config.shares[0].name, "share");
    EXPECT_EQ(r.config.shares[0].path, "/var/lib/smbx/share");
    EXPECT_FALSE(r.config.shares[0].read_only);
}

TEST(config, load_file_and_unreadable_file) {
    auto dir =
        std::filesystem::temp_directory_path() / ("smbx-config-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    auto file = dir / "smbx.conf";
    std::ofstream(file) << "[global]\nworkgroup = filewg\n";
    auto r = load_file(file.string());
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.config.workgroup, "FILEWG");

    auto missing = load_file((dir / "missing.conf").string());
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.errors[0].to_string().find("missing.conf"), std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST(config, resolve_share_paths) {
    auto dir =
        std::filesystem::temp_directory_path() / ("smbx-config-paths-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir / "real");
    auto r = parse_ok("[a]\npath = " + (dir / "real" / ".." / "real").string() +
                      "\n[b]\npath = " + (dir / "absent").string() + "\n");
    auto errors = resolve_share_paths(r.config, "t");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].line, 3);
    EXPECT_EQ(r.config.shares[0].path, std::filesystem::canonical(dir / "real").string());
    std::filesystem::remove_all(dir);
}

// The shipped example must parse cleanly: every key in it is a known key.
TEST(config, deploy_example_parses_without_warnings) {
    std::string here = __FILE__;
    auto example = here.substr(0, here.rfind("tests/unit/control/")) + "deploy/smbx.conf.example";
    auto r = load_file(example);
    ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors[0].to_string());
    for (const auto& w : r.warnings) {
        ADD_FAILURE() << w.to_string();
    }
    ASSERT_EQ(r.config.shares.size(), 1u);
    EXPECT_FALSE(r.config.shares[0].read_only);
}

TEST(config, transport_defaults_to_tcp) {
    auto r = parse_ok("[global]\n");
    EXPECT_EQ(r.config.dpdk.transport, transport_kind::tcp);
}

TEST(config, dpdk_transport_settings) {
    auto r = parse_ok("[global]\ntransport = DPDK\n"
                      "dpdk args = --no-pci --vdev net_af_xdp0,iface=eth1\n"
                      "dpdk ports = 1\ndpdk address = 10.1.2.3/16\n"
                      "dpdk gateway = 10.1.0.1\ndpdk mtu = 9000\n");
    const auto& d = r.config.dpdk;
    EXPECT_EQ(d.transport, transport_kind::dpdk);
    EXPECT_EQ(d.args, "--no-pci --vdev net_af_xdp0,iface=eth1");
    EXPECT_EQ(d.port, 1);
    EXPECT_EQ(d.address, "10.1.2.3");
    EXPECT_EQ(d.netmask, 0xffff0000u);
    EXPECT_EQ(d.gateway, "10.1.0.1");
    EXPECT_EQ(d.mtu, 9000);
    EXPECT_EQ(ipv4_host_order(d.address), 0x0a010203u);
}

TEST(config, dpdk_netmask_and_default_prefix) {
    auto r = parse_ok("transport = dpdk\ndpdk args = --no-pci\ndpdk address = 10.0.0.2\n");
    EXPECT_EQ(r.config.dpdk.netmask, 0xffffff00u); // /24 when no prefix is given
    r = parse_ok("transport = dpdk\ndpdk args = x\ndpdk netmask = 255.255.255.252\n"
                 "dpdk address = 10.0.0.2\n");
    EXPECT_EQ(r.config.dpdk.netmask, 0xfffffffcu);
    EXPECT_FALSE(parse("dpdk netmask = 255.0.255.0\n", "t").ok()); // not contiguous
    EXPECT_FALSE(parse("dpdk netmask = 0.0.0.0\n", "t").ok());
}

TEST(config, dpdk_bad_values_are_errors) {
    EXPECT_TRUE(error_mentions(parse("transport = rdma\n", "t"), "'transport'"));
    EXPECT_TRUE(error_mentions(parse("dpdk ports = eth0\n", "t"), "'dpdk ports'"));
    EXPECT_TRUE(error_mentions(parse("dpdk ports = 0 1\n", "t"), "'dpdk ports'"));
    EXPECT_TRUE(error_mentions(parse("dpdk address = 10.0.0.256\n", "t"), "'dpdk address'"));
    EXPECT_TRUE(error_mentions(parse("dpdk address = 10.0.0.1/33\n", "t"), "'dpdk address'"));
    EXPECT_TRUE(error_mentions(parse("dpdk gateway = gw\n", "t"), "'dpdk gateway'"));
    EXPECT_TRUE(error_mentions(parse("dpdk mtu = 100\n", "t"), "'dpdk mtu'"));
    EXPECT_TRUE(error_mentions(parse("dpdk mtu = 9001\n", "t"), "'dpdk mtu'"));
    EXPECT_TRUE(
        error_mentions(parse("dpdk args = " + std::string(1100, 'a') + "\n", "t"), "'dpdk args'"));
}

TEST(config, dpdk_transport_needs_args_address_and_a_reachable_gateway) {
    EXPECT_TRUE(
        error_mentions(parse("transport = dpdk\ndpdk address = 10.0.0.2\n", "t"), "'dpdk args'"));
    EXPECT_TRUE(
        error_mentions(parse("transport = dpdk\ndpdk args = --no-pci\n", "t"), "'dpdk address'"));
    EXPECT_TRUE(error_mentions(parse("transport = dpdk\ndpdk args = --no-pci\n"
                                     "dpdk address = 10.0.0.2/24\ndpdk gateway = 10.0.1.1\n",
                                     "t"),
                               "not in the subnet"));
    // The same settings without `transport = dpdk` are kept but not required.
    EXPECT_TRUE(parse("dpdk address = 10.0.0.2\n", "t").ok());
}

TEST(config, dpdk_keys_are_global_only) {
    auto r = parse("[s]\npath = /s\ntransport = dpdk\n", "t");
    EXPECT_EQ(r.config.dpdk.transport, transport_kind::tcp);
}

TEST(config, metrics_address_is_off_by_default_and_takes_ipv4_port) {
    EXPECT_EQ(parse_ok("").config.metrics_port, 0);
    auto c = parse_ok("[global]\n metrics address = 127.0.0.1:9924\n").config;
    EXPECT_EQ(c.metrics_host, "127.0.0.1");
    EXPECT_EQ(c.metrics_port, 9924);
    EXPECT_EQ(parse_ok("[global]\n metrics address = off\n").config.metrics_port, 0);
    for (const char* bad : {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:65536", "localhost:9924",
                            ":9924", "127.0.0.1:x"}) {
        auto r = parse(std::string("[global]\n metrics address = ") + bad + "\n", "t.conf");
        EXPECT_TRUE(error_mentions(r, "'metrics address'")) << bad;
    }
}
