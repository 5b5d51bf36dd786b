#include "control/status_json.hh"

#include <cstdio>

#include "control/admin_socket.hh"

namespace smbx {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 (RFC 3629: no overlongs, no
// surrogates, nothing above U+10FFFF).
size_t utf8_length(std::string_view s, size_t i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
    unsigned char c = b(0);
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        return cont(1) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2) || (c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F)) {
            return 0;
        }
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3) || (c == 0xF0 && b(1) < 0x90) ||
            (c == 0xF4 && b(1) > 0x8F)) {
            return 0;
        }
        return 4;
    }
    return 0;
}

const char* json_bool(bool b) {
    return b ? "true" : "false";
}

} // namespace

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size();) {
        size_t n = utf8_length(s, i);
        if (n == 0) {
            out += "\\ufffd";
            ++i;
            continue;
        }
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += char(c);
        } else if (c < 0x20) {
            char buf[8];
            snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
            out += buf;
        } else {
            out.append(s.substr(i, n));
        }
        i += n;
    }
    return out + "\"";
}

std::string format_status_json(const ipc::status_reply& s, int dataplane_pid) {
    std::string out = "{\"dataplane_pid\": " + std::to_string(dataplane_pid) + ",\n";
    out += " \"sessions\": [";
    const char* sep = "\n  ";
    for (const auto& x : s.sessions) {
        out += sep;
        out += "{\"session_id\": " + json_string(session_id_text(x.session_id)) +
               ", \"user\": " + json_string(x.user) +
               ", \"client\": " + json_string(x.client_address) +
               ", \"dialect\": " + json_string(dialect_name(x.dialect)) +
               ", \"signing\": " + json_bool(x.signing) +
               ", \"encryption\": " + json_bool(x.encryption) + "}";
        sep = ",\n  ";
    }
    out += "],\n \"open_files\": [";
    sep = "\n  ";
    for (const auto& o : s.opens) {
        out += sep;
        out += "{\"session_id\": " + json_string(session_id_text(o.session_id)) +
               ", \"share\": " + json_string(o.share) + ", \"path\": " + json_string(o.path) +
               ", \"caching\": " + json_string(o.caching) + "}";
        sep = ",\n  ";
    }
    out += "],\n \"data_path\": {";
    sep = "\n  ";
    for (const auto& [name, value] : s.counters) {
        out += sep + json_string(name) + ": " + std::to_string(value);
        sep = ",\n  ";
    }
    return out + "}}\n";
}

} // namespace smbx
