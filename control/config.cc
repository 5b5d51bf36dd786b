#include "control/config.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace smbx::config {

namespace {

std::string_view trim(std::string_view s) {
    size_t b = s.find_first_not_of(" \t\r\n\f\v");
    if (b == std::string_view::npos) {
        return {};
    }
    size_t e = s.find_last_not_of(" \t\r\n\f\v");
    return s.substr(b, e - b + 1);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = char(c - 'A' + 'a');
        }
    }
    return out;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'a' && c <= 'z') {
            c = char(c - 'a' + 'A');
        }
    }
    return out;
}

// smb.conf: whitespace inside parameter names is irrelevant, case too.
std::string normalize_key(std::string_view k) {
    std::string out;
    for (char c : lower(k)) {
        if (c != ' ' && c != '\t') {
            out += c;
        }
    }
    return out;
}

// Lists are separated by whitespace or commas; double quotes keep a name with spaces.
std::vector<std::string> split_list(std::string_view v) {
    std::vector<std::string> out;
    std::string cur;
    bool quoted = false;
    auto flush = [&] {
        if (!cur.empty()) {
            out.push_back(cur);
            cur.clear();
        }
    };
    for (char c : v) {
        if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && (c == ',' || c == ' ' || c == '\t')) {
            flush();
        } else {
            cur += c;
        }
    }
    flush();
    return out;
}

template <typename T> std::optional<T> parse_int(std::string_view v) {
    T out{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc() || p != v.data() + v.size() || v.empty()) {
        return std::nullopt;
    }
    return out;
}

std::optional<interface_address> parse_interface(std::string_view token) {
    interface_address a;
    auto slash = token.find('/');
    a.address = std::string(token.substr(0, slash));
    in_addr addr{};
    if (inet_pton(AF_INET, a.address.c_str(), &addr) != 1) {
        return std::nullopt;
    }
    if (slash != std::string_view::npos) {
        auto prefix = parse_int<int>(token.substr(slash + 1));
        if (!prefix || *prefix < 0 || *prefix > 32) {
            return std::nullopt;
        }
        a.prefix_length = *prefix;
    }
    return a;
}

// Keys that global_param() knows (normalised), to tell "misplaced" from "unknown".
bool is_global_key(const std::string& key) {
    static const char* keys[] = {"interfaces",        "smbports",
                                 "servermaxprotocol", "maxprotocol",
                                 "protocol",          "serverminprotocol",
                                 "minprotocol",       "serversigning",
                                 "privatedir",        "loglevel",
                                 "debuglevel",        "netbiosname",
                                 "workgroup",         "maptoguest",
                                 "restrictanonymous", "workers",
                                 "idlepolicy",        "bufferpoolsize",
                                 "smbdirect",         "rdmaports",
                                 "zerocopysend",      "servermultichannelsupport",
                                 "multichannel",      "metricsaddress",
                                 "smb2leases"};
    return std::any_of(std::begin(keys), std::end(keys), [&](const char* k) { return key == k; }) ||
           is_dpdk_key(key);
}

const char* encrypt_values = "default, if_required, off, desired or required";

class parser {
public:
    explicit parser(std::string_view file) : _file(file) {}

    load_result run(std::string_view text);

private:
    enum class section_kind { global, share, ignored };

    void on_section(std::string_view name);
    void on_param(std::string_view key, std::string_view value);
    bool global_param(const std::string& key, std::string_view value);
    bool share_param(share_config& s, const std::string& key, std::string_view value);
    void error(std::string msg) { _r.errors.push_back({_file, _line, std::move(msg)}); }
    void warn(std::string msg) { _r.warnings.push_back({_file, _line, std::move(msg)}); }
    std::optional<bool> boolean(std::string_view key, std::string_view v);

    load_result _r;
    std::string _file;
    int _line = 0;
    section_kind _kind = section_kind::global;
    size_t _share = 0;
    share_config _share_defaults; // share parameters given in [global]
};

load_result parser::run(std::string_view text) {
    _r.config.shares.clear();
    std::string pending; // a line continued with a trailing backslash
    int pending_line = 0;
    int line_no = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view raw =
            text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
        ++line_no;
        std::string_view t = trim(raw);
        if (pending.empty()) {
            pending_line = line_no;
            if (t.empty() || t[0] == '#' || t[0] == ';') {
                continue;
            }
        }
        if (!t.empty() && t.back() == '\\') {
            pending += std::string(t.substr(0, t.size() - 1)) + " ";
            continue;
        }
        std::string full = pending + std::string(t);
        pending.clear();
        _line = pending_line;
        std::string_view l = trim(full);
        if (l.empty()) {
            continue;
        }
        if (l.front() == '[') {
            if (l.back() != ']') {
                error("section header is missing ']'");
                continue;
            }
            on_section(trim(l.substr(1, l.size() - 2)));
            continue;
        }
        auto eq = l.find('=');
        if (eq == std::string_view::npos) {
            error("expected 'name = value', '[section]' or a comment");
            continue;
        }
        on_param(trim(l.substr(0, eq)), trim(l.substr(eq + 1)));
    }
    _line = line_no;
    if (!pending.empty()) {
        warn("file ends with a line continuation");
    }
    for (const auto& s : _r.config.shares) {
        if (s.path.empty()) {
            _r.errors.push_back({_file, s.line, "share [" + s.name + "] has no 'path'"});
        }
    }
    if (std::string m = check_dpdk(_r.config.dpdk); !m.empty()) {
        _r.errors.push_back({_file, 0, m});
    }
    if (_r.config.min_dialect > _r.config.max_dialect) {
        _r.errors.push_back({_file, 0,
                             "'server min protocol' (" + protocol_name(_r.config.min_dialect) +
                                 ") is above 'server max protocol' (" +
                                 protocol_name(_r.config.max_dialect) + ")"});
    }
    return std::move(_r);
}

void parser::on_section(std::string_view name) {
    if (name.empty()) {
        error("empty section name");
        _kind = section_kind::ignored;
        return;
    }
    if (iequals(name, "global")) {
        _kind = section_kind::global;
        return;
    }
    if (iequals(name, "IPC$")) {
        warn("[IPC$] is built in; this section is ignored");
        _kind = section_kind::ignored;
        return;
    }
    if (iequals(name, "homes") || iequals(name, "printers") || iequals(name, "print$")) {
        warn("special section [" + std::string(name) + "] is not supported; ignored");
        _kind = section_kind::ignored;
        return;
    }
    // MS-SRVS share names: at most 80 characters, none of the reserved ones.
    if (name.size() > 80 || name.find_first_of("\\/:*?\"<>|") != std::string_view::npos) {
        error("invalid share name [" + std::string(name) + "]");
        _kind = section_kind::ignored;
        return;
    }
    _kind = section_kind::share;
    auto& shares = _r.config.shares;
    for (size_t i = 0; i < shares.size(); ++i) {
        if (iequals(shares[i].name, name)) { // Samba merges a repeated section
            _share = i;
            return;
        }
    }
    share_config s = _share_defaults;
    s.name = std::string(name);
    s.line = _line;
    shares.push_back(std::move(s));
    _share = shares.size() - 1;
}

void parser::on_param(std::string_view raw_key, std::string_view value) {
    std::string key = normalize_key(raw_key);
    if (key.empty()) {
        error("parameter without a name");
        return;
    }
    switch (_kind) {
    case section_kind::ignored:
        return;
    case section_kind::global:
        if (global_param(key, value) || share_param(_share_defaults, key, value)) {
            return;
        }
        break;
    case section_kind::share:
        if (share_param(_r.config.shares[_share], key, value)) {
            return;
        }
        if (is_global_key(key)) {
            warn("global parameter '" + std::string(raw_key) + "' in a share section; ignored");
            return;
        }
        break;
    }
    warn("unknown parameter '" + std::string(raw_key) + "'; ignored");
}

std::optional<bool> parser::boolean(std::string_view key, std::string_view v) {
    auto b = parse_bool(v);
    if (!b) {
        error("'" + std::string(key) + "': '" + std::string(v) + "' is not a boolean (yes/no)");
    }
    return b;
}

// Returns false only for an unknown key; a bad value is recorded as an error.
bool parser::global_param(const std::string& key, std::string_view v) {
    auto& c = _r.config;
    if (key == "interfaces") {
        c.interfaces.clear();
        auto tokens = split_list(v);
        for (const auto& t : tokens) {
            if (auto a = parse_interface(t)) {
                c.interfaces.push_back(*a);
            } else {
                error("'interfaces': '" + t + "' is not an IPv4 address[/prefix]");
            }
        }
        if (tokens.empty()) {
            error("'interfaces' is empty");
        }
    } else if (key == "smbports") {
        c.ports.clear();
        auto tokens = split_list(v);
        for (const auto& t : tokens) {
            auto p = parse_int<unsigned>(t);
            if (!p || *p == 0 || *p > 65535) {
                error("'smb ports': '" + t + "' is not a port number (1-65535)");
            } else if (std::find(c.ports.begin(), c.ports.end(), uint16_t(*p)) == c.ports.end()) {
                c.ports.push_back(uint16_t(*p));
            }
        }
        if (tokens.empty()) {
            error("'smb ports' is empty");
        }
    } else if (key == "rdmaports") {
        // RDMA CM ports of the SMB Direct listeners (MS-SMBD 2.1: 5445 for iWARP, where
        // the Linux client tries first, and 445 for RoCE and InfiniBand).
        c.rdma_ports.clear();
        auto tokens = split_list(v);
        for (const auto& t : tokens) {
            auto p = parse_int<unsigned>(t);
            if (!p || *p == 0 || *p > 65535) {
                error("'rdma ports': '" + t + "' is not a port number (1-65535)");
            } else if (std::find(c.rdma_ports.begin(), c.rdma_ports.end(), uint16_t(*p)) ==
                       c.rdma_ports.end()) {
                c.rdma_ports.push_back(uint16_t(*p));
            }
        }
        if (tokens.empty()) {
            error("'rdma ports' is empty");
        } else if (c.rdma_ports.size() > std::size(dataplane_settings{}.rdma_ports)) {
            error("'rdma ports': at most " +
                  std::to_string(std::size(dataplane_settings{}.rdma_ports)) + " ports");
        }
    } else if (key == "metricsaddress") {
        // IPv4 like `interfaces`; the endpoint has no authentication, so the operator
        // names the address (loopback, or a management network) explicitly.
        auto colon = v.rfind(':');
        std::string host(v.substr(0, colon == std::string_view::npos ? 0 : colon));
        unsigned port = 0;
        if (colon != std::string_view::npos) {
            port = parse_int<unsigned>(v.substr(colon + 1)).value_or(0);
        }
        in_addr addr{};
        if (v.empty() || lower(v) == "no" || lower(v) == "off") {
            c.metrics_port = 0;
        } else if (port == 0 || port > 65535 || inet_pton(AF_INET, host.c_str(), &addr) != 1) {
            error("'metrics address': '" + std::string(v) +
                  "' is not IPv4-ADDRESS:PORT (e.g. 127.0.0.1:9924), or off");
        } else {
            c.metrics_host = host;
            c.metrics_port = uint16_t(port);
        }
    } else if (key == "smbdirect") {
        if (auto b = boolean("smb direct", v)) {
            c.smb_direct = *b;
        }
    } else if (key == "smb2leases") {
        if (auto b = boolean("smb2 leases", v)) {
            c.leases = *b;
        }
    } else if (key == "servermultichannelsupport" || key == "multichannel") {
        if (auto b = boolean("server multi channel support", v)) {
            c.multichannel = *b;
        }
    } else if (key == "servermaxprotocol" || key == "maxprotocol" || key == "protocol" ||
               key == "serverminprotocol" || key == "minprotocol") {
        bool is_min = key.find("min") != std::string::npos;
        auto d = parse_protocol(v);
        // SMB1 dialects are below SMB2_02: as a minimum they mean "anything we speak".
        static const char* smb1[] = {"CORE", "COREPLUS", "LANMAN1", "LANMAN2", "NT1"};
        bool is_smb1 = std::any_of(std::begin(smb1), std::end(smb1),
                                   [&](const char* n) { return iequals(v, n); });
        if (is_min && is_smb1) {
            warn("SMB1 is not supported; 'server min protocol' treated as SMB2_02");
            d = 0x0202;
        }
        if (!d) {
            error(std::string(is_min ? "'server min protocol'" : "'server max protocol'") +
                  ": unknown protocol '" + std::string(v) +
                  "' (SMB2_02, SMB2_10, SMB3_00, SMB3_02, SMB3_11, SMB2, SMB3)");
        } else if (is_min) {
            c.min_dialect = *d;
        } else {
            c.max_dialect = *d;
        }
    } else if (key == "serversigning") {
        if (auto s = parse_signing(v)) {
            c.signing = *s;
        } else {
            error("'server signing': '" + std::string(v) +
                  "' is not one of default, auto, if_required, mandatory, required, "
                  "enabled, disabled");
        }
    } else if (key == "serversmbencrypt" || key == "smbencrypt") {
        if (auto e = parse_encrypt(v)) {
            c.encrypt = *e;
        } else {
            error("'server smb encrypt': '" + std::string(v) + "' is not one of " + encrypt_values);
        }
    } else if (key == "privatedir") {
        if (v.empty() || v.front() != '/') {
            error("'private dir' must be an absolute path");
        } else {
            c.private_dir = std::string(v);
        }
    } else if (key == "loglevel" || key == "debuglevel") {
        // Samba allows per-class levels after the first ("3 auth:5"); only the first counts.
        auto words = split_list(v);
        auto lvl = words.empty() ? std::nullopt : parse_int<int>(words[0]);
        if (!lvl || *lvl < 0 || *lvl > 10) {
            error("'log level': '" + std::string(v) + "' is not a level (0-10)");
        } else {
            c.log_level = *lvl;
            if (words.size() > 1) {
                warn("'log level': per-class levels are not supported; using " + words[0]);
            }
        }
    } else if (key == "netbiosname" || key == "workgroup") {
        bool nb = key == "netbiosname";
        if (v.empty() || v.size() > 15 || v.find_first_of("\\/:*?\"<>| .") != std::string::npos) {
            error(std::string(nb ? "'netbios name'" : "'workgroup'") + ": '" + std::string(v) +
                  "' is not a NetBIOS name (1-15 characters)");
        } else {
            (nb ? c.netbios_name : c.workgroup) = upper(v);
        }
    } else if (key == "maptoguest") {
        std::string m = lower(v);
        if (m == "never") {
            c.guest_mapping = map_to_guest::never;
        } else if (normalize_key(m) == "baduser") {
            c.guest_mapping = map_to_guest::bad_user;
        } else {
            error("'map to guest': '" + std::string(v) + "' is not supported (never, bad user)");
        }
    } else if (key == "restrictanonymous") {
        auto n = parse_int<int>(v);
        if (!n || *n < 0 || *n > 2) {
            error("'restrict anonymous': '" + std::string(v) + "' is not 0, 1 or 2");
        } else {
            c.restrict_anonymous = *n;
        }
    } else if (key == "workers") {
        auto n = parse_int<unsigned>(v);
        if (iequals(v, "auto")) {
            c.workers = 0;
        } else if (!n || *n < 1 || *n > 1024) {
            error("'workers': '" + std::string(v) + "' is not 'auto' or a number (1-1024)");
        } else {
            c.workers = *n;
        }
    } else if (key == "idlepolicy") {
        if (iequals(v, "adaptive")) {
            c.idle = idle_policy::adaptive;
        } else if (iequals(v, "poll")) {
            c.idle = idle_policy::poll;
        } else {
            error("'idle policy': '" + std::string(v) + "' is not 'adaptive' or 'poll'");
        }
    } else if (key == "zerocopysend") {
        if (iequals(v, "auto")) {
            c.zero_copy_send = 2;
        } else if (auto b = parse_bool(v)) {
            c.zero_copy_send = *b ? 1 : 0;
        } else {
            error("'zero copy send': '" + std::string(v) + "' is not 'auto', 'yes' or 'no'");
        }
    } else if (key == "bufferpoolsize") {
        // MiB, as a number or with an M/G suffix.
        std::string_view num = v;
        uint32_t scale = 1;
        if (!num.empty() && (num.back() == 'M' || num.back() == 'm')) {
            num.remove_suffix(1);
        } else if (!num.empty() && (num.back() == 'G' || num.back() == 'g')) {
            num.remove_suffix(1);
            scale = 1024;
        }
        auto n = parse_int<uint32_t>(num);
        if (!n || *n * uint64_t(scale) < 16 || *n * uint64_t(scale) > 65536) {
            error("'buffer pool size': '" + std::string(v) + "' is not 16M-64G");
        } else {
            c.buffer_pool_mib = *n * scale;
        }
    } else {
        std::string message;
        switch (dpdk_param(c.dpdk, key, v, message)) {
        case param_result::not_mine:
            return false;
        case param_result::bad:
            error(message);
            break;
        case param_result::ok:
            break;
        }
    }
    return true;
}

bool parser::share_param(share_config& s, const std::string& key, std::string_view v) {
    if (key == "path" || key == "directory") {
        s.path = std::string(v);
        if (!v.empty() && v.front() != '/') {
            error("'path': '" + std::string(v) + "' is not an absolute path");
        }
    } else if (key == "comment") {
        s.comment = std::string(v);
    } else if (key == "readonly") {
        if (auto b = boolean("read only", v)) {
            s.read_only = *b;
        }
    } else if (key == "writable" || key == "writeable" || key == "writeok") {
        if (auto b = boolean("writable", v)) {
            s.read_only = !*b;
        }
    } else if (key == "browseable" || key == "browsable") {
        if (auto b = boolean("browseable", v)) {
            s.browseable = *b;
        }
    } else if (key == "guestok" || key == "public") {
        if (auto b = boolean("guest ok", v)) {
            s.guest_ok = *b;
        }
    } else if (key == "oplocks") {
        if (auto b = boolean("oplocks", v)) {
            s.oplocks = *b;
        }
    } else if (key == "level2oplocks") {
        if (auto b = boolean("level2 oplocks", v)) {
            s.level2_oplocks = *b;
        }
    } else if (key == "directio") {
        if (auto b = boolean("direct io", v)) {
            s.direct_io = *b;
        }
    } else if (key == "validusers") {
        s.valid_users = split_list(v);
    } else if (key == "smbencrypt" || key == "serversmbencrypt") {
        if (auto e = parse_encrypt(v)) {
            s.encrypt = *e;
        } else {
            error("'smb encrypt': '" + std::string(v) + "' is not one of " + encrypt_values);
        }
    } else {
        return false;
    }
    return true;
}

} // namespace

std::string diagnostic::to_string() const {
    if (line > 0) {
        return file + ":" + std::to_string(line) + ": " + message;
    }
    return file + ": " + message;
}

const share_config* server_config::find_share(std::string_view name) const {
    for (const auto& s : shares) {
        if (iequals(s.name, name)) {
            return &s;
        }
    }
    return nullptr;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && lower(a) == lower(b);
}

std::optional<bool> parse_bool(std::string_view v) {
    std::string l = lower(v);
    if (l == "yes" || l == "true" || l == "1" || l == "on") {
        return true;
    }
    if (l == "no" || l == "false" || l == "0" || l == "off") {
        return false;
    }
    return std::nullopt;
}

std::optional<uint16_t> parse_protocol(std::string_view v) {
    struct entry {
        const char* name;
        uint16_t dialect;
    };
    static const entry table[] = {{"SMB2_02", 0x0202}, {"SMB2_10", 0x0210}, {"SMB2", 0x0210},
                                  {"SMB3_00", 0x0300}, {"SMB3_02", 0x0302}, {"SMB3_11", 0x0311},
                                  {"SMB3", 0x0311}};
    for (const auto& e : table) {
        if (iequals(v, e.name)) {
            return e.dialect;
        }
    }
    return std::nullopt;
}

std::string protocol_name(uint16_t dialect) {
    switch (dialect) {
    case 0x0202:
        return "SMB2_02";
    case 0x0210:
        return "SMB2_10";
    case 0x0300:
        return "SMB3_00";
    case 0x0302:
        return "SMB3_02";
    case 0x0311:
        return "SMB3_11";
    default: {
        char buf[16];
        snprintf(buf, sizeof buf, "0x%04x", dialect);
        return buf;
    }
    }
}

std::optional<signing_policy> parse_signing(std::string_view v) {
    std::string l = lower(v);
    if (l == "default" || l == "auto" || l == "if_required") {
        return signing_policy::if_required;
    }
    if (l == "mandatory" || l == "required" || l == "force") {
        return signing_policy::mandatory;
    }
    if (l == "disabled" || l == "no" || l == "off" || l == "false") {
        return signing_policy::disabled;
    }
    if (l == "enabled" || l == "desired" || l == "yes" || l == "on" || l == "true") {
        return signing_policy::enabled;
    }
    return std::nullopt;
}

// Samba's enum_smb_encryption_vals: the legacy boolean spellings map to off and
// if_required, `auto` to desired, `mandatory`/`force` to required.
std::optional<encrypt_policy> parse_encrypt(std::string_view v) {
    std::string l = lower(v);
    if (l == "default" || l == "if_required" || l == "yes" || l == "true" || l == "on" ||
        l == "enabled" || l == "1") {
        return encrypt_policy::if_required;
    }
    if (l == "off" || l == "no" || l == "false" || l == "disabled" || l == "0") {
        return encrypt_policy::off;
    }
    if (l == "desired" || l == "auto") {
        return encrypt_policy::desired;
    }
    if (l == "required" || l == "mandatory" || l == "force") {
        return encrypt_policy::required;
    }
    return std::nullopt;
}

load_result parse(std::string_view text, std::string_view file_name) {
    return parser(file_name).run(text);
}

load_result load_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        load_result r;
        r.errors.push_back({path, 0, std::string("cannot read: ") + strerror(errno)});
        return r;
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) {
        load_result r;
        r.errors.push_back({path, 0, "read error"});
        return r;
    }
    return parse(text.str(), path);
}

std::string_view embedded_default_text() {
    return "[global]\n"
           "    interfaces = 127.0.0.1\n"
           "    smb ports = 445\n"
           "    private dir = /var/lib/smbx/private\n"
           "\n"
           "[share]\n"
           "    path = /var/lib/smbx/share\n"
           "    read only = no\n";
}

load_result load_default() {
    return parse(embedded_default_text(), "<built-in default>");
}

std::vector<diagnostic> resolve_share_paths(server_config& cfg, std::string_view file_name) {
    std::vector<diagnostic> errors;
    for (auto& s : cfg.shares) {
        char* real = realpath(s.path.c_str(), nullptr);
        if (!real) {
            errors.push_back({std::string(file_name), s.line,
                              "share [" + s.name + "]: path '" + s.path + "': " + strerror(errno)});
            continue;
        }
        s.path = real;
        free(real);
    }
    return errors;
}

} // namespace smbx::config
