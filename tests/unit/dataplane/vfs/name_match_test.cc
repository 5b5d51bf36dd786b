#include "dataplane/vfs/name_match.hh"

#include <gtest/gtest.h>

namespace smbx::vfs {
namespace {

TEST(name_match, iequals) {
    EXPECT_TRUE(iequals("Hello.TXT", "hello.txt"));
    EXPECT_FALSE(iequals("hello", "hell"));
    EXPECT_TRUE(iequals("\xC3\xA9t\xC3\xA9", "\xC3\x89T\xC3\x89")); // été / ÉTÉ
    EXPECT_TRUE(iequals("\xD0\xB4\xD0\xB0", "\xD0\x94\xD0\x90"));   // да / ДА
    EXPECT_TRUE(iequals("\xCE\xB1\xCF\x82", "\xCE\x91\xCE\xA3"));   // ας / ΑΣ
    EXPECT_FALSE(iequals("\xC3\xA9", "e"));
}

TEST(name_match, upcase_latin_extended) {
    EXPECT_EQ(upcase(0x101), char32_t(0x100));
    EXPECT_EQ(upcase(0x13A), char32_t(0x139));
    EXPECT_EQ(upcase(0x17E), char32_t(0x17D));
    EXPECT_EQ(upcase(0xFF), char32_t(0x178));
    EXPECT_EQ(upcase(0xF7), char32_t(0xF7)); // division sign has no case
}

TEST(name_match, star_and_question) {
    EXPECT_TRUE(wildcard_match("*", "anything"));
    EXPECT_TRUE(wildcard_match("*.txt", "a.TXT"));
    EXPECT_FALSE(wildcard_match("*.txt", "a.txt.bak"));
    EXPECT_TRUE(wildcard_match("a?c", "abc"));
    EXPECT_FALSE(wildcard_match("a?c", "ac"));
    EXPECT_TRUE(wildcard_match("*b*", "abc"));
    EXPECT_TRUE(wildcard_match("FILE", "file"));
    EXPECT_FALSE(wildcard_match("file", "file2"));
    EXPECT_TRUE(wildcard_match("**", ""));
}

TEST(name_match, dos_wildcards) {
    // DOS_STAR '<' stops at the last dot.
    EXPECT_TRUE(wildcard_match("<.txt", "a.b.txt"));
    EXPECT_TRUE(wildcard_match("<", "noext"));
    EXPECT_FALSE(wildcard_match("<", "a.b"));
    // DOS_QM '>' matches one char, or nothing before a dot/the end.
    EXPECT_TRUE(wildcard_match("ab>>", "ab"));
    EXPECT_TRUE(wildcard_match("a>>.txt", "a.txt"));
    EXPECT_TRUE(wildcard_match("a>>.txt", "abc.txt"));
    EXPECT_FALSE(wildcard_match("a>.txt", "abc.txt"));
    // DOS_DOT '"' matches a dot, or nothing at the end.
    EXPECT_TRUE(wildcard_match("abc\"", "abc"));
    EXPECT_TRUE(wildcard_match("abc\"*", "abc.d"));
    EXPECT_FALSE(wildcard_match("abc\"", "abcd"));
}

TEST(name_match, short_names) {
    EXPECT_EQ(short_name("readme.txt"), "README.TXT");
    EXPECT_EQ(short_name("A"), "A");
    EXPECT_EQ(short_name("."), ".");
    auto s = short_name("a long file name.html");
    EXPECT_EQ(s.substr(0, 6), "ALONG~");
    EXPECT_EQ(s.size(), 12u);
    EXPECT_EQ(s.substr(8), ".HTM");
    EXPECT_EQ(short_name("a long file name.html"), s); // deterministic
    EXPECT_NE(short_name("a long file name2.html"), s);
    EXPECT_EQ(short_name(".bashrc").substr(0, 2), "_~");
    auto dots = short_name("two.dots.c"); // inner dots are dropped from the base
    EXPECT_EQ(dots.substr(0, 6), "TWODO~");
    EXPECT_EQ(dots.substr(8), ".C");
}

TEST(name_match, long_patterns_are_fast) {
    std::string pat(100, '*');
    pat += "x";
    EXPECT_FALSE(wildcard_match(pat, std::string(250, 'a')));
}

} // namespace
} // namespace smbx::vfs
