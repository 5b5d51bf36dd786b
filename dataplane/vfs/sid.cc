#include "dataplane/vfs/sid.hh"

#include <cctype>

namespace smbx::vfs {

namespace {

constexpr uint32_t first_user_rid = 1000;
constexpr uint32_t guest_rid = 501;
constexpr uint32_t domain_users_rid = 513;

// FNV-1a over the bytes, case-folded (ASCII) one way: stable across builds and
// hosts, unlike std::hash.
uint32_t fnv1a(std::string_view s, uint32_t seed, bool upper) {
    uint32_t h = 2166136261u ^ seed;
    for (unsigned char c : s) {
        h ^= uint32_t(upper ? std::toupper(c) : std::tolower(c));
        h *= 16777619u;
    }
    return h;
}

sid make(uint64_t authority, std::vector<uint32_t> subs) {
    return sid{1, authority, std::move(subs)};
}

} // namespace

std::string sid::to_string() const {
    std::string s = "S-" + std::to_string(revision) + "-" + std::to_string(authority);
    for (auto v : sub_authorities) {
        s += "-" + std::to_string(v);
    }
    return s;
}

std::optional<sid> read_sid(byte_reader& r) {
    sid s;
    s.revision = r.u8();
    uint8_t count = r.u8();
    s.authority = uint64_t(r.u16be()) << 32;
    s.authority |= r.u32be();
    if (!r.ok() || s.revision != 1 || count > sid_max_sub_authorities) {
        r.fail();
        return std::nullopt;
    }
    for (uint8_t i = 0; i < count; ++i) {
        s.sub_authorities.push_back(r.u32());
    }
    if (!r.ok()) {
        return std::nullopt;
    }
    return s;
}

void write_sid(byte_writer& w, const sid& s) {
    w.u8(s.revision);
    w.u8(uint8_t(s.sub_authorities.size()));
    w.u16be(uint16_t(s.authority >> 32));
    w.u32be(uint32_t(s.authority));
    for (auto v : s.sub_authorities) {
        w.u32(v);
    }
}

sid everyone_sid() {
    return make(1, {0});
}
sid creator_owner_sid() {
    return make(3, {0});
}
sid creator_group_sid() {
    return make(3, {1});
}
sid anonymous_sid() {
    return make(5, {7});
}
sid authenticated_users_sid() {
    return make(5, {11});
}
sid system_sid() {
    return make(5, {18});
}
sid administrators_sid() {
    return make(5, {32, 544});
}
sid unix_user_sid(uint32_t uid) {
    return make(22, {1, uid});
}
sid unix_group_sid(uint32_t gid) {
    return make(22, {2, gid});
}

sid domain_sid(std::string_view netbios_name) {
    return make(5, {21, fnv1a(netbios_name, 1, true), fnv1a(netbios_name, 2, true),
                    fnv1a(netbios_name, 3, true)});
}

sid user_sid(std::string_view netbios_name, std::string_view user_name) {
    sid s = domain_sid(netbios_name);
    s.sub_authorities.push_back(first_user_rid +
                                fnv1a(user_name, 0, false) % (0x80000000u - first_user_rid));
    return s;
}

sid guest_sid(std::string_view netbios_name) {
    sid s = domain_sid(netbios_name);
    s.sub_authorities.push_back(guest_rid);
    return s;
}

sid domain_users_sid(std::string_view netbios_name) {
    sid s = domain_sid(netbios_name);
    s.sub_authorities.push_back(domain_users_rid);
    return s;
}

} // namespace smbx::vfs
