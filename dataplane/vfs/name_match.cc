#include "dataplane/vfs/name_match.hh"

#include "common/byte_codec.hh"

#include <vector>

namespace smbx::vfs {

std::u32string to_utf32(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        out.push_back(next_code_point(s, i));
    }
    return out;
}

char32_t upcase(char32_t c) {
    if (c < 0x80) {
        return (c >= 'a' && c <= 'z') ? c - 0x20 : c;
    }
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7) {
        return c - 0x20;
    }
    if (c == 0xFF) {
        return 0x178;
    }
    // Latin Extended-A: pairs (upper, lower), with the parity flipping at 0x139/0x179.
    if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) {
        return (c & 1) ? c - 1 : c;
    }
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) {
        return (c & 1) ? c : c - 1;
    }
    if (c == 0x3C2) {
        return 0x3A3; // final sigma
    }
    if ((c >= 0x3B1 && c <= 0x3C1) || (c >= 0x3C3 && c <= 0x3CB)) {
        return c - 0x20;
    }
    if (c >= 0x430 && c <= 0x44F) {
        return c - 0x20;
    }
    if (c >= 0x450 && c <= 0x45F) {
        return c - 0x50;
    }
    if (c >= 0xFF41 && c <= 0xFF5A) {
        return c - 0x20;
    }
    return c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a == b) {
        return true;
    }
    auto ua = to_utf32(a);
    auto ub = to_utf32(b);
    if (ua.size() != ub.size()) {
        return false;
    }
    for (size_t i = 0; i < ua.size(); ++i) {
        if (upcase(ua[i]) != upcase(ub[i])) {
            return false;
        }
    }
    return true;
}

bool has_wildcards(std::string_view p) {
    return p.find_first_of("*?<>\"") != std::string_view::npos;
}

namespace {

// Memoized matcher over (pattern index, name index); patterns and names are short
// (<= 255 code units) so the table stays small and matching is polynomial.
class matcher {
public:
    matcher(std::u32string p, std::u32string n) : _p(std::move(p)), _n(std::move(n)) {
        _memo.assign((_p.size() + 1) * (_n.size() + 1), -1);
        _last_dot = _n.rfind(U'.');
    }
    bool run() { return match(0, 0); }

private:
    bool match(size_t pi, size_t ni) {
        int8_t& m = _memo[pi * (_n.size() + 1) + ni];
        if (m < 0) {
            m = compute(pi, ni) ? 1 : 0;
        }
        return m;
    }
    bool compute(size_t pi, size_t ni) {
        size_t nl = _n.size();
        if (pi == _p.size()) {
            return ni == nl;
        }
        char32_t c = _p[pi];
        switch (c) {
        case U'*':
            return match(pi + 1, ni) || (ni < nl && match(pi, ni + 1));
        case U'?':
            return ni < nl && match(pi + 1, ni + 1);
        case U'>': // DOS_QM: one char, or nothing at a '.' or the end
            if (ni < nl && _n[ni] != U'.') {
                return match(pi + 1, ni + 1);
            }
            return match(pi + 1, ni);
        case U'"': // DOS_DOT: a '.', or nothing at the end
            if (ni < nl && _n[ni] == U'.') {
                return match(pi + 1, ni + 1);
            }
            return ni == nl && match(pi + 1, ni);
        case U'<': // DOS_STAR: anything up to (not past) the last '.'
            for (size_t i = ni; i <= nl; ++i) {
                if (match(pi + 1, i)) {
                    return true;
                }
                if (_last_dot != std::u32string::npos && i >= _last_dot) {
                    break;
                }
            }
            return false;
        default:
            return ni < nl && upcase(c) == upcase(_n[ni]) && match(pi + 1, ni + 1);
        }
    }

    std::u32string _p;
    std::u32string _n;
    std::vector<int8_t> _memo;
    size_t _last_dot;
};

} // namespace

bool wildcard_match(std::string_view pattern, std::string_view name) {
    if (pattern == "*") {
        return true;
    }
    return matcher(to_utf32(pattern), to_utf32(name)).run();
}

namespace {

bool short_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'()-@^_`{}~").find(c) != std::string_view::npos;
}

std::string short_part(std::string_view s, size_t max) {
    std::string out;
    for (char c : s) {
        char u = (c >= 'a' && c <= 'z') ? char(c - 0x20) : c;
        if (short_name_char(u) && out.size() < max) {
            out.push_back(u);
        }
    }
    return out;
}

} // namespace

std::string short_name(std::string_view name) {
    if (name.empty() || name == "." || name == "..") {
        return std::string(name);
    }
    auto dot = name.rfind('.');
    std::string_view base = dot == std::string_view::npos ? name : name.substr(0, dot);
    std::string_view ext = dot == std::string_view::npos ? "" : name.substr(dot + 1);
    auto b = short_part(base, 8);
    auto e = short_part(ext, 3);
    bool valid = !base.empty() && base.size() <= 8 && ext.size() <= 3 && b.size() == base.size() &&
                 e.size() == ext.size() && base.find('.') == std::string_view::npos &&
                 (dot == std::string_view::npos || !ext.empty());
    auto with_ext = [&e](std::string out) {
        if (!e.empty()) {
            out.push_back('.');
            out.append(e);
        }
        return out;
    };
    if (valid) {
        return with_ext(b);
    }
    uint32_t h = 2166136261u; // FNV-1a of the full name
    for (unsigned char c : name) {
        h = (h ^ c) * 16777619u;
    }
    static constexpr char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::string out = short_part(base, 5);
    if (out.empty()) {
        out.push_back('_');
    }
    out += '~';
    out += digits[h % 36];
    out += digits[(h / 36) % 36];
    return with_ext(out);
}

} // namespace smbx::vfs
