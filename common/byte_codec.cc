#include "common/byte_codec.hh"

namespace smbx {

bool utf16le_to_utf8(byte_span in, std::string& out) {
    out.clear();
    if (in.size() % 2) {
        return false;
    }
    out.reserve(in.size() / 2);
    for (size_t i = 0; i < in.size(); i += 2) {
        uint32_t cp = in[i] | (uint32_t(in[i + 1]) << 8);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (i + 3 >= in.size()) {
                return false;
            }
            uint32_t lo = in[i + 2] | (uint32_t(in[i + 3]) << 8);
            if (lo < 0xDC00 || lo > 0xDFFF) {
                return false;
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 2;
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
        }
        if (cp < 0x80) {
            out.push_back(char(cp));
        } else if (cp < 0x800) {
            out.push_back(char(0xC0 | (cp >> 6)));
            out.push_back(char(0x80 | (cp & 0x3F)));
        } else if (cp < 0x10000) {
            out.push_back(char(0xE0 | (cp >> 12)));
            out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(char(0x80 | (cp & 0x3F)));
        } else {
            out.push_back(char(0xF0 | (cp >> 18)));
            out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
            out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
            out.push_back(char(0x80 | (cp & 0x3F)));
        }
    }
    return true;
}

char32_t next_code_point(std::string_view s, size_t& i) {
    uint8_t c = uint8_t(s[i]);
    char32_t cp;
    size_t n;
    if (c < 0x80) {
        cp = c, n = 1;
    } else if ((c & 0xE0) == 0xC0) {
        cp = c & 0x1F, n = 2;
    } else if ((c & 0xF0) == 0xE0) {
        cp = c & 0x0F, n = 3;
    } else if ((c & 0xF8) == 0xF0) {
        cp = c & 0x07, n = 4;
    } else {
        ++i;
        return 0xFFFD;
    }
    if (n > s.size() - i) {
        i = s.size();
        return 0xFFFD;
    }
    for (size_t k = 1; k < n; ++k) {
        uint8_t cc = uint8_t(s[i + k]);
        if ((cc & 0xC0) != 0x80) {
            ++i;
            return 0xFFFD;
        }
        cp = (cp << 6) | (cc & 0x3F);
    }
    i += n;
    return cp;
}

void utf8_to_utf16le(std::string_view in, bytes& out) {
    auto put = [&out](uint32_t u) {
        out.push_back(uint8_t(u));
        out.push_back(uint8_t(u >> 8));
    };
    for (size_t i = 0; i < in.size();) {
        uint32_t cp = next_code_point(in, i);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            put(0xD800 + (cp >> 10));
            put(0xDC00 + (cp & 0x3FF));
        } else {
            put(cp);
        }
    }
}

} // namespace smbx
