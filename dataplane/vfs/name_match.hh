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

// The 8.3 alternate name reported for `name` (MS-FSCC 2.1.5.2.1): the name itself,
// upper-cased, when it already is a valid 8.3 name; otherwise up to five characters of
// the base, '~', two characters of a hash of the full name, and up to three of the
// extension. Not stored and not unique: no lookup by short name.
std::string short_name(std::string_view name);

} // namespace smbx::vfs
