#include "control/config_dpdk.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <cstdlib>
#include <sstream>

namespace smbx::config {

namespace {

template <typename T> bool parse_number(std::string_view v, T& out) {
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    return ec == std::errc() && p == v.data() + v.size() && !v.empty();
}

bool is_ipv4(const std::string& s) {
    in_addr a{};
    return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

uint32_t prefix_mask(unsigned bits) {
    return bits == 0 ? 0 : bits >= 32 ? 0xffffffffu : ~((1u << (32 - bits)) - 1);
}

bool lower_equals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == y;
           });
}

// A fraction of frames, 0 to 0.5: more than half lost or reordered is no longer a link.
bool parse_fraction(const std::string& v, double& out) {
    char* end = nullptr;
    out = std::strtod(v.c_str(), &end);
    return !v.empty() && end == v.c_str() + v.size() && out >= 0 && out <= 0.5;
}

// `dpdk impair = drop 0.01 dup 0.01 reorder 0.02 seed 7`; any subset, any order.
bool parse_impair(dpdk_config& c, const std::string& value, std::string& message) {
    std::istringstream words(value);
    std::string name, number;
    c.impair_drop = c.impair_duplicate = c.impair_reorder = 0;
    while (words >> name) {
        if (!(words >> number)) {
            message = "'dpdk impair': '" + name + "' without a value";
            return false;
        }
        bool ok = true;
        if (name == "drop") {
            ok = parse_fraction(number, c.impair_drop);
        } else if (name == "dup" || name == "duplicate") {
            ok = parse_fraction(number, c.impair_duplicate);
        } else if (name == "reorder") {
            ok = parse_fraction(number, c.impair_reorder);
        } else if (name == "seed") {
            ok = parse_number(std::string_view(number), c.impair_seed);
        } else {
            message = "'dpdk impair': '" + name + "' is not drop, dup, reorder or seed";
            return false;
        }
        if (!ok) {
            message = "'dpdk impair': " + name + " '" + number +
                      (name == "seed" ? "' is not a number" : "' is not a fraction 0-0.5");
            return false;
        }
    }
    return true;
}

} // namespace

uint32_t ipv4_host_order(const std::string& dotted) {
    in_addr a{};
    return inet_pton(AF_INET, dotted.c_str(), &a) == 1 ? ntohl(a.s_addr) : 0;
}

bool is_dpdk_key(const std::string& key) {
    static const char* keys[] = {"transport",   "dpdkargs",    "dpdkports", "dpdkaddress",
                                 "dpdknetmask", "dpdkgateway", "dpdkmtu",   "dpdkimpair"};
    return std::any_of(std::begin(keys), std::end(keys), [&](const char* k) { return key == k; });
}

param_result dpdk_param(dpdk_config& c, const std::string& key, std::string_view v,
                        std::string& message) {
    std::string value(v);
    if (key == "transport") {
        if (lower_equals(v, "tcp")) {
            c.transport = transport_kind::tcp;
        } else if (lower_equals(v, "dpdk")) {
            c.transport = transport_kind::dpdk;
        } else {
            message = "'transport': '" + value + "' is not 'tcp' or 'dpdk'";
            return param_result::bad;
        }
    } else if (key == "dpdkargs") {
        c.args = value;
        if (c.args.size() >= sizeof(dataplane_settings::dpdk_args)) {
            message = "'dpdk args': longer than " +
                      std::to_string(sizeof(dataplane_settings::dpdk_args) - 1) + " characters";
            return param_result::bad;
        }
    } else if (key == "dpdkports") {
        // One port for now; several ports (one stack per port and worker) are a follow-up.
        uint16_t port = 0;
        if (!parse_number(v, port) || port >= 1024) {
            message = "'dpdk ports': '" + value + "' is not one DPDK port number (0-1023)";
            return param_result::bad;
        }
        c.port = port;
    } else if (key == "dpdkaddress") {
        auto slash = value.find('/');
        std::string addr = value.substr(0, slash);
        unsigned bits = 24;
        if (!is_ipv4(addr) || (slash != std::string::npos &&
                               (!parse_number(std::string_view(value).substr(slash + 1), bits) ||
                                bits < 1 || bits > 32))) {
            message = "'dpdk address': '" + value + "' is not an IPv4 address[/prefix]";
            return param_result::bad;
        }
        c.address = addr;
        // Without a /prefix, a `dpdk netmask` given earlier stands.
        if (slash != std::string::npos || c.netmask == 0) {
            c.netmask = prefix_mask(bits);
        }
    } else if (key == "dpdknetmask") {
        uint32_t m = ipv4_host_order(value);
        // A netmask is ones then zeros: ~m + 1 is then a power of two.
        uint32_t inverted = ~m;
        if (!is_ipv4(value) || m == 0 || (inverted & (inverted + 1)) != 0) {
            message = "'dpdk netmask': '" + value + "' is not an IPv4 netmask";
            return param_result::bad;
        }
        c.netmask = m;
    } else if (key == "dpdkgateway") {
        if (!is_ipv4(value)) {
            message = "'dpdk gateway': '" + value + "' is not an IPv4 address";
            return param_result::bad;
        }
        c.gateway = value;
    } else if (key == "dpdkmtu") {
        // RFC 791: every IPv4 host takes 576-byte datagrams; 9000 is the usual jumbo frame.
        uint16_t mtu = 0;
        if (!parse_number(v, mtu) || mtu < 576 || mtu > 9000) {
            message = "'dpdk mtu': '" + value + "' is not 576-9000";
            return param_result::bad;
        }
        c.mtu = mtu;
    } else if (key == "dpdkimpair") {
        if (!parse_impair(c, value, message)) {
            return param_result::bad;
        }
    } else {
        return param_result::not_mine;
    }
    return param_result::ok;
}

std::string check_dpdk(const dpdk_config& c) {
    if (c.transport != transport_kind::dpdk) {
        return c.impaired() ? "'dpdk impair' is a test mode of 'transport = dpdk'" : "";
    }
    if (c.args.empty()) {
        return "'transport = dpdk' needs 'dpdk args' (the EAL arguments)";
    }
    if (c.address.empty()) {
        return "'transport = dpdk' needs 'dpdk address'";
    }
    if (!c.gateway.empty()) {
        uint32_t mask = c.netmask ? c.netmask : prefix_mask(24);
        if ((ipv4_host_order(c.gateway) & mask) != (ipv4_host_order(c.address) & mask)) {
            return "'dpdk gateway' " + c.gateway + " is not in the subnet of 'dpdk address'";
        }
    }
    return {};
}

} // namespace smbx::config
