// Case-insensitive name comparison and wildcard matching as Windows file systems do
// them (MS-FSA 2.1.4.4). Case folding is simple one-to-one upper-casing covering
// ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic and fullwidth Latin; other scripts
// compare exactly (a documented limit: no full Unicode upcase table yet).
#pragma once

#include <string>
#include <string_view>

namespace smbx::vfs {

// Decodes UTF-8 to code points; malformed bytes become U+FFFD.
std::u32string to_utf32(std::string_view utf8);
char32_t upcase(char32_t c);
bool iequals(std::string_view a, std::string_view b);

// True when `pattern` (with *, ?, and the DOS wildcards <, >, ") matches `name`,
// ignoring case.
bool wildcard_match(std::string_view pattern, std::string_view name);
bool has_wildcards(std::string_view pattern);

} // namespace smbx::vfs
