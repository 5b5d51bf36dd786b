#include "dataplane/rpc/srvsvc.hh"

#include <gtest/gtest.h>

#include "dataplane/rpc/ndr.hh"

using namespace smbx;
using namespace smbx::ipc_pipe;

namespace {

ipc::share_info share(std::string name, std::string comment, std::string path,
                      bool browseable = true, bool encrypt = false) {
    ipc::share_info s;
    s.name = std::move(name);
    s.comment = std::move(comment);
    s.path = std::move(path);
    s.browseable = browseable;
    s.encrypt_required = encrypt;
    return s;
}

share_lister lister_of(std::vector<ipc::share_info> shares) {
    return [shares] { return std::optional(shares); };
}

share_lister standard_lister() {
    return lister_of({share("data", "Data share", "/srv/data"),
                      share("hidden", "Not listed", "/srv/hidden", false, true),
                      share("Secure", "", "/srv/secure", true, true)});
}

// NetrShareEnum request as Samba's client marshals it (empty container of `level`).
bytes share_enum_request(uint32_t level, uint32_t preferred_max = 0xFFFFFFFF,
                         std::optional<uint32_t> resume = 0, uint32_t tag = ~0u) {
    ndr::writer w;
    w.unique_wstring(std::string("\\\\127.0.0.1"));
    w.flush_deferred();
    w.u32(level);
    w.u32(tag == ~0u ? level : tag);
    w.unique_ptr(true, [](ndr::writer& w) {
        w.u32(0); // count
        w.u32(0); // null array
    });
    w.flush_deferred();
    w.u32(preferred_max);
    w.unique_ptr(resume.has_value(), [&](ndr::writer& w) { w.u32(*resume); });
    w.flush_deferred();
    return w.take();
}

bytes share_get_info_request(std::string name, uint32_t level) {
    ndr::writer w;
    w.unique_wstring(std::string("\\\\server"));
    w.flush_deferred();
    w.wstring(name);
    w.u32(level);
    return w.take();
}

bytes server_get_info_request(uint32_t level) {
    ndr::writer w;
    w.unique_wstring(std::nullopt);
    w.u32(level);
    return w.take();
}

struct share_out {
    std::optional<std::string> name;
    uint32_t type = 0;
    std::optional<std::string> remark;
    uint32_t permissions = 0, max_uses = 0, current_uses = 0;
    std::optional<std::string> path, password;
    uint32_t flags = 0;
    uint32_t reserved = 0, sd_ptr = 0;
};

// Reads the fixed part of one SHARE_INFO_<level>; string referents are kept so the
// deferred strings can be read afterwards, in order.
struct share_fixed {
    share_out s;
    uint32_t name_p = 0, remark_p = 0, path_p = 0, pass_p = 0;
};

share_fixed read_fixed(ndr::reader& r, uint32_t level) {
    share_fixed f;
    f.name_p = r.pointer();
    if (level == 0) {
        return f;
    }
    f.s.type = r.u32();
    f.remark_p = r.pointer();
    if (level == 501) {
        f.s.flags = r.u32();
    }
    if (level == 2 || level == 502) {
        f.s.permissions = r.u32();
        f.s.max_uses = r.u32();
        f.s.current_uses = r.u32();
        f.path_p = r.pointer();
        f.pass_p = r.pointer();
    }
    if (level == 502) {
        f.s.reserved = r.u32();
        f.s.sd_ptr = r.pointer();
    }
    return f;
}

void read_strings(ndr::reader& r, share_fixed& f) {
    if (f.name_p) {
        f.s.name = r.wstring();
    }
    if (f.remark_p) {
        f.s.remark = r.wstring();
    }
    if (f.path_p) {
        f.s.path = r.wstring();
    }
    if (f.pass_p) {
        f.s.password = r.wstring();
    }
}

struct enum_out {
    uint32_t level = 0;
    std::vector<share_out> shares;
    uint32_t total = 0;
    std::optional<uint32_t> resume;
    uint32_t status = 0;
};

enum_out decode_share_enum(byte_span stub) {
    ndr::reader r(stub);
    enum_out e;
    e.level = r.u32();
    EXPECT_EQ(r.u32(), e.level); // union tag
    if (r.pointer() != 0) {
        uint32_t count = r.u32();
        uint32_t array_p = r.pointer();
        EXPECT_EQ(array_p != 0, count != 0);
        if (array_p) {
            EXPECT_EQ(r.u32(), count); // conformance
            std::vector<share_fixed> fixed;
            for (uint32_t i = 0; i < count; ++i) {
                fixed.push_back(read_fixed(r, e.level));
            }
            for (auto& f : fixed) {
                read_strings(r, f);
                e.shares.push_back(f.s);
            }
        }
    }
    e.total = r.u32();
    if (r.pointer() != 0) {
        e.resume = r.u32();
    }
    e.status = r.u32();
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
    return e;
}

struct get_info_out {
    uint32_t level = 0;
    std::optional<share_out> share;
    uint32_t status = 0;
};

get_info_out decode_share_get_info(byte_span stub) {
    ndr::reader r(stub);
    get_info_out g;
    g.level = r.u32();
    if (r.pointer() != 0) {
        share_fixed f;
        if (g.level == 1005) {
            f.s.flags = r.u32();
        } else if (g.level == 1004) {
            f.remark_p = r.pointer();
        } else {
            f = read_fixed(r, g.level);
        }
        read_strings(r, f);
        g.share = f.s;
    }
    g.status = r.u32();
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
    return g;
}

dcerpc::call_result call(srvsvc& s, uint16_t opnum, const bytes& stub) {
    auto res = s.call(opnum, stub);
    EXPECT_EQ(res.fault_status, 0u);
    return res;
}

} // namespace

TEST(srvsvc, share_enum_level_1_lists_browseable_shares_and_ipc) {
    srvsvc s(standard_lister(), "SMBX");
    auto e = decode_share_enum(call(s, 15, share_enum_request(1)).stub);
    EXPECT_EQ(e.level, 1u);
    EXPECT_EQ(e.status, werr::ok);
    ASSERT_EQ(e.shares.size(), 3u);
    EXPECT_EQ(e.total, 3u);
    EXPECT_EQ(e.shares[0].name, "data");
    EXPECT_EQ(e.shares[0].type, stype::disktree);
    EXPECT_EQ(e.shares[0].remark, "Data share");
    EXPECT_EQ(e.shares[1].name, "Secure");
    EXPECT_EQ(e.shares[1].remark, "");
    EXPECT_EQ(e.shares[2].name, "IPC$");
    EXPECT_EQ(e.shares[2].type, 0x80000003u);
    EXPECT_EQ(e.shares[2].remark, "IPC Service (smbx)");
    EXPECT_EQ(e.resume, 0u);
}

TEST(srvsvc, share_enum_uses_ipc_from_the_lister_once) {
    auto ipc_share = share("IPC$", "", "");
    ipc_share.type = ipc::share_type::ipc;
    ipc_share.browseable = false;
    srvsvc s(lister_of({ipc_share, share("a", "x", "/a")}), "SMBX");
    auto e = decode_share_enum(call(s, 15, share_enum_request(0)).stub);
    ASSERT_EQ(e.shares.size(), 2u);
    EXPECT_EQ(e.shares[0].name, "IPC$");
    EXPECT_EQ(e.shares[1].name, "a");
    EXPECT_FALSE(e.shares[0].remark); // level 0 has names only
}

TEST(srvsvc, share_enum_level_2_and_502_carry_paths) {
    srvsvc s(standard_lister(), "SMBX");
    for (uint32_t level : {2u, 502u}) {
        auto e = decode_share_enum(call(s, 15, share_enum_request(level)).stub);
        ASSERT_EQ(e.shares.size(), 3u) << level;
        EXPECT_EQ(e.shares[0].path, "C:\\srv\\data");
        EXPECT_EQ(e.shares[0].max_uses, 0xFFFFFFFFu);
        EXPECT_FALSE(e.shares[0].password);
        EXPECT_EQ(e.shares[2].path, "");
        EXPECT_EQ(e.shares[0].reserved, 0u);
        EXPECT_EQ(e.shares[0].sd_ptr, 0u);
    }
}

TEST(srvsvc, share_enum_level_501_reports_encryption_flag) {
    srvsvc s(standard_lister(), "SMBX");
    auto e = decode_share_enum(call(s, 15, share_enum_request(501)).stub);
    ASSERT_EQ(e.shares.size(), 3u);
    EXPECT_EQ(e.shares[0].flags, 0u);
    EXPECT_EQ(e.shares[1].flags, shi1005_flags_encrypt_data);
    EXPECT_EQ(e.shares[1].type, stype::disktree);
}

TEST(srvsvc, share_enum_honours_preferred_length_and_resume_handle) {
    std::vector<ipc::share_info> many;
    for (int i = 0; i < 20; ++i) {
        many.push_back(share("share" + std::to_string(i), "comment " + std::to_string(i), "/x"));
    }
    srvsvc s(lister_of(many), "SMBX");
    std::vector<std::string> seen;
    uint32_t resume = 0;
    for (int round = 0; round < 50; ++round) {
        auto e = decode_share_enum(call(s, 15, share_enum_request(1, 200, resume)).stub);
        EXPECT_EQ(e.total, 21u);
        ASSERT_FALSE(e.shares.empty());
        EXPECT_LE(e.shares.size(), 3u); // ~70 bytes per entry against 200
        for (auto& sh : e.shares) {
            seen.push_back(*sh.name);
        }
        ASSERT_TRUE(e.resume);
        if (e.status == werr::ok) {
            EXPECT_EQ(*e.resume, 0u);
            break;
        }
        ASSERT_EQ(e.status, werr::more_data);
        EXPECT_EQ(*e.resume, seen.size());
        resume = *e.resume;
    }
    ASSERT_EQ(seen.size(), 21u);
    EXPECT_EQ(seen.front(), "share0");
    EXPECT_EQ(seen[19], "share19");
    EXPECT_EQ(seen.back(), "IPC$");
}

TEST(srvsvc, share_enum_tiny_preferred_length_still_progresses) {
    srvsvc s(standard_lister(), "SMBX");
    auto e = decode_share_enum(call(s, 15, share_enum_request(1, 0, std::nullopt)).stub);
    EXPECT_EQ(e.shares.size(), 1u);
    EXPECT_EQ(e.status, werr::more_data);
    EXPECT_FALSE(e.resume); // the client passed no handle
}

TEST(srvsvc, share_enum_resume_past_the_end_returns_nothing) {
    srvsvc s(standard_lister(), "SMBX");
    auto e = decode_share_enum(call(s, 15, share_enum_request(1, 0xFFFFFFFF, 99)).stub);
    EXPECT_TRUE(e.shares.empty());
    EXPECT_EQ(e.total, 3u);
    EXPECT_EQ(e.status, werr::ok);
}

TEST(srvsvc, share_enum_without_share_list_returns_an_error) {
    srvsvc s([] { return std::optional<std::vector<ipc::share_info>>(); }, "SMBX");
    auto e = decode_share_enum(call(s, 15, share_enum_request(1)).stub);
    EXPECT_EQ(e.status, werr::not_enough_memory);
    EXPECT_TRUE(e.shares.empty());
    srvsvc no_lister(nullptr, "SMBX");
    EXPECT_EQ(decode_share_enum(call(no_lister, 15, share_enum_request(1)).stub).status,
              werr::not_enough_memory);
}

TEST(srvsvc, share_enum_unknown_level) {
    srvsvc s(standard_lister(), "SMBX");
    auto e = decode_share_enum(call(s, 15, share_enum_request(7)).stub);
    EXPECT_EQ(e.status, werr::invalid_level);
    EXPECT_EQ(e.level, 7u);
}

TEST(srvsvc, share_enum_mismatched_union_tag_is_bad_stub_data) {
    srvsvc s(standard_lister(), "SMBX");
    auto res = s.call(15, share_enum_request(1, 0xFFFFFFFF, 0, 2));
    EXPECT_EQ(res.fault_status, dcerpc::fault::bad_stub_data);
}

TEST(srvsvc, truncated_requests_are_bad_stub_data) {
    srvsvc s(standard_lister(), "SMBX");
    for (auto [opnum, full] : {std::pair{uint16_t(15), share_enum_request(1)},
                               std::pair{uint16_t(16), share_get_info_request("data", 1)},
                               std::pair{uint16_t(21), server_get_info_request(101)}}) {
        for (size_t n = 0; n < full.size(); ++n) {
            auto res = s.call(opnum, byte_span(full).first(n));
            EXPECT_EQ(res.fault_status, dcerpc::fault::bad_stub_data) << opnum << " " << n;
        }
    }
}

TEST(srvsvc, share_get_info_finds_shares_case_insensitively) {
    srvsvc s(standard_lister(), "SMBX");
    auto g = decode_share_get_info(call(s, 16, share_get_info_request("DATA", 2)).stub);
    EXPECT_EQ(g.status, werr::ok);
    ASSERT_TRUE(g.share);
    EXPECT_EQ(g.share->name, "data");
    EXPECT_EQ(g.share->path, "C:\\srv\\data");
    EXPECT_EQ(g.share->remark, "Data share");
}

TEST(srvsvc, share_get_info_sees_non_browseable_shares) {
    srvsvc s(standard_lister(), "SMBX");
    auto g = decode_share_get_info(call(s, 16, share_get_info_request("hidden", 1005)).stub);
    EXPECT_EQ(g.status, werr::ok);
    ASSERT_TRUE(g.share);
    EXPECT_EQ(g.share->flags, shi1005_flags_encrypt_data);
    auto g1 = decode_share_get_info(call(s, 16, share_get_info_request("hidden", 1004)).stub);
    EXPECT_EQ(g1.share->remark, "Not listed");
}

TEST(srvsvc, share_get_info_levels) {
    srvsvc s(standard_lister(), "SMBX");
    for (uint32_t level : {0u, 1u, 2u, 501u, 502u}) {
        auto g = decode_share_get_info(call(s, 16, share_get_info_request("ipc$", level)).stub);
        EXPECT_EQ(g.status, werr::ok) << level;
        ASSERT_TRUE(g.share);
        EXPECT_EQ(g.share->name, "IPC$");
        if (level != 0) {
            EXPECT_EQ(g.share->type, 0x80000003u);
        }
    }
}

TEST(srvsvc, share_get_info_unknown_share) {
    srvsvc s(standard_lister(), "SMBX");
    auto g = decode_share_get_info(call(s, 16, share_get_info_request("nosuch", 1)).stub);
    EXPECT_EQ(g.status, 0x906u);
    EXPECT_FALSE(g.share);
}

TEST(srvsvc, share_get_info_unknown_level) {
    srvsvc s(standard_lister(), "SMBX");
    auto g = decode_share_get_info(call(s, 16, share_get_info_request("data", 3)).stub);
    EXPECT_EQ(g.status, werr::invalid_level);
    EXPECT_FALSE(g.share);
}

TEST(srvsvc, server_get_info_101) {
    srvsvc s(standard_lister(), "SMBX");
    bytes r_stub = call(s, 21, server_get_info_request(101)).stub;
    ndr::reader r(r_stub);
    EXPECT_EQ(r.u32(), 101u);
    EXPECT_NE(r.pointer(), 0u);
    EXPECT_EQ(r.u32(), 500u);
    EXPECT_NE(r.pointer(), 0u);
    EXPECT_EQ(r.u32(), 10u);
    EXPECT_EQ(r.u32(), 0u);
    uint32_t type = r.u32();
    EXPECT_EQ(type & 0x8003u, 0x8003u); // workstation, server, server_nt
    EXPECT_NE(r.pointer(), 0u);
    EXPECT_EQ(r.wstring(), "SMBX");
    EXPECT_EQ(r.wstring(), "smbx");
    EXPECT_EQ(r.u32(), werr::ok);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
}

TEST(srvsvc, server_get_info_100_and_102) {
    srvsvc s(standard_lister(), "SMBX");
    bytes r_stub = call(s, 21, server_get_info_request(100)).stub;
    ndr::reader r(r_stub);
    EXPECT_EQ(r.u32(), 100u);
    EXPECT_NE(r.pointer(), 0u);
    EXPECT_EQ(r.u32(), 500u);
    EXPECT_NE(r.pointer(), 0u);
    EXPECT_EQ(r.wstring(), "SMBX");
    EXPECT_EQ(r.u32(), werr::ok);
    EXPECT_EQ(r.remaining(), 0u);

    bytes r2_stub = call(s, 21, server_get_info_request(102)).stub;
    ndr::reader r2(r2_stub);
    EXPECT_EQ(r2.u32(), 102u);
    r2.pointer();
    EXPECT_EQ(r2.u32(), 500u);
    for (int i = 0; i < 12; ++i) {
        r2.u32(); // name ptr ... userpath ptr
    }
    EXPECT_EQ(r2.wstring(), "SMBX");
    EXPECT_EQ(r2.wstring(), "smbx");
    EXPECT_EQ(r2.wstring(), "C:\\");
    EXPECT_EQ(r2.u32(), werr::ok);
    EXPECT_EQ(r2.remaining(), 0u);
}

TEST(srvsvc, server_get_info_unknown_level) {
    srvsvc s(standard_lister(), "SMBX");
    bytes r_stub = call(s, 21, server_get_info_request(103)).stub;
    ndr::reader r(r_stub);
    EXPECT_EQ(r.u32(), 103u);
    EXPECT_EQ(r.pointer(), 0u);
    EXPECT_EQ(r.u32(), werr::invalid_level);
}

TEST(srvsvc, unknown_opnum_faults) {
    srvsvc s(standard_lister(), "SMBX");
    EXPECT_EQ(s.call(36, {}).fault_status, dcerpc::fault::op_rng_error);
    EXPECT_EQ(s.call(0xFFFF, {}).fault_status, dcerpc::fault::op_rng_error);
}
