#include "dataplane/rpc/srvsvc.hh"

#include <algorithm>
#include <optional>
#include <vector>

#include "common/log.hh"
#include "dataplane/rpc/ndr.hh"

namespace smbx::ipc_pipe {

namespace {

// One share as srvsvc describes it.
struct share_entry {
    std::string name;
    std::string remark;
    std::string path; // Windows form, "C:\..."
    uint32_t type = stype::disktree;
    uint32_t flags = 0; // SHI1005 flags
};

bool equal_nocase(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
        return lower(x) == lower(y);
    });
}

// Samba's convention for shi2_path: the Unix path on drive C:, with backslashes.
std::string windows_path(std::string_view unix_path) {
    if (unix_path.empty()) {
        return {};
    }
    std::string p = "C:";
    for (char c : unix_path) {
        p.push_back(c == '/' ? '\\' : c);
    }
    return p;
}

std::string ipc_remark() {
    return "IPC Service (" + std::string(server_comment) + ")";
}

share_entry make_entry(const ipc::share_info& s, bool is_ipc) {
    share_entry e;
    e.name = s.name;
    e.remark = s.comment;
    if (is_ipc) {
        // Samba and Windows both report IPC$ as STYPE_IPC_HIDDEN (MS-SRVS 2.2.2.4).
        e.type = stype::ipc | stype::special;
        if (e.remark.empty()) {
            e.remark = ipc_remark();
        }
    } else {
        e.type = stype::disktree;
        e.path = windows_path(s.path);
    }
    e.flags = s.encrypt_required ? shi1005_flags_encrypt_data : 0;
    return e;
}

// The shares srvsvc knows of, IPC$ always among them. For enumeration, shares marked
// not browseable are left out (MS-SRVS 3.1.4.8 leaves this to the server; Samba hides
// them too). nullopt when the control plane did not answer.
std::optional<std::vector<share_entry>> load_shares(const share_lister& lister, bool enumeration) {
    if (!lister) {
        return std::nullopt;
    }
    auto shares = lister();
    if (!shares) {
        return std::nullopt;
    }
    std::vector<share_entry> entries;
    bool have_ipc = false;
    for (const auto& s : *shares) {
        bool is_ipc = s.type == ipc::share_type::ipc || equal_nocase(s.name, "IPC$");
        if (is_ipc && have_ipc) {
            continue;
        }
        have_ipc = have_ipc || is_ipc;
        if (enumeration && !s.browseable && !is_ipc) {
            continue;
        }
        entries.push_back(make_entry(s, is_ipc));
    }
    if (!have_ipc) {
        ipc::share_info ipc_share;
        ipc_share.name = "IPC$";
        ipc_share.type = ipc::share_type::ipc;
        entries.push_back(make_entry(ipc_share, true));
    }
    return entries;
}

bool enum_level_supported(uint32_t level) {
    return level == 0 || level == 1 || level == 2 || level == 501 || level == 502;
}

bool get_info_level_supported(uint32_t level) {
    return enum_level_supported(level) || level == 1004 || level == 1005 || level == 1006;
}

constexpr uint32_t shi_uses_unlimited = 0xFFFFFFFF;

// The fixed part of SHARE_INFO_<level> (MS-SRVS 2.2.4.22 - 2.2.4.31); strings are
// deferred pointees.
void write_share_info(ndr::writer& w, const share_entry& e, uint32_t level) {
    switch (level) {
    case 0:
        w.unique_wstring(e.name);
        break;
    case 1:
        w.unique_wstring(e.name);
        w.u32(e.type);
        w.unique_wstring(e.remark);
        break;
    case 2:
    case 502:
        w.unique_wstring(e.name);
        w.u32(e.type);
        w.unique_wstring(e.remark);
        w.u32(0); // permissions: user-level security ignores them
        w.u32(shi_uses_unlimited);
        w.u32(0); // current uses: not tracked across workers
        w.unique_wstring(e.path);
        w.unique_wstring(std::nullopt); // password
        if (level == 502) {
            w.u32(0); // shi502_reserved: security descriptor length
            w.u32(0); // null security descriptor
        }
        break;
    case 501:
        w.unique_wstring(e.name);
        w.u32(e.type);
        w.unique_wstring(e.remark);
        w.u32(e.flags);
        break;
    case 1004:
        w.unique_wstring(e.remark);
        break;
    case 1005:
        w.u32(e.flags);
        break;
    case 1006:
        w.u32(shi_uses_unlimited);
        break;
    }
}

// Roughly what an entry costs in the reply, for PreferedMaximumLength.
size_t entry_size(const share_entry& e, uint32_t level) {
    auto str = [](const std::string& s) { return 12 + ((2 * (s.size() + 1) + 3) & ~size_t(3)); };
    switch (level) {
    case 0:
        return 4 + str(e.name);
    case 1:
        return 12 + str(e.name) + str(e.remark);
    case 501:
        return 16 + str(e.name) + str(e.remark);
    default:
        return 40 + str(e.name) + str(e.remark) + str(e.path);
    }
}

dcerpc::call_result bad_stub() {
    return {dcerpc::fault::bad_stub_data, {}};
}

} // namespace

srvsvc::srvsvc(share_lister lister, std::string server_name)
    : _lister(std::move(lister)), _server_name(std::move(server_name)) {}

dcerpc::call_result srvsvc::call(uint16_t opnum, byte_span stub) {
    switch (opnum) {
    case srvsvc_opnum::share_enum:
        return share_enum(stub);
    case srvsvc_opnum::share_get_info:
        return share_get_info(stub);
    case srvsvc_opnum::server_get_info:
        return server_get_info(stub);
    default:
        LOG_DEBUG("srvsvc: opnum %u not implemented", opnum);
        return {dcerpc::fault::op_rng_error, {}};
    }
}

// MS-SRVS 3.1.4.8 NetrShareEnum.
dcerpc::call_result srvsvc::share_enum(byte_span stub) {
    ndr::reader r(stub);
    r.unique_wstring(); // ServerName: this server whatever it says
    uint32_t level = r.u32();
    uint32_t tag = r.u32(); // SHARE_ENUM_UNION discriminant, must equal Level
    if (r.pointer() != 0) {
        r.u32(); // EntriesRead
        // Clients send an empty container; a filled one is not worth parsing.
        if (r.pointer() != 0) {
            return bad_stub();
        }
    }
    uint32_t preferred_max = r.u32();
    bool has_resume = r.pointer() != 0;
    uint32_t resume = has_resume ? r.u32() : 0;
    if (!r.ok() || tag != level) {
        return bad_stub();
    }

    uint32_t status = werr::ok;
    std::vector<share_entry> all;
    if (!enum_level_supported(level)) {
        status = werr::invalid_level;
    } else if (auto shares = load_shares(_lister, true)) {
        all = std::move(*shares);
    } else {
        LOG_WARN("srvsvc: share list unavailable from the control plane");
        status = werr::not_enough_memory;
    }

    // Entries [first, last) go out; the resume handle is the index of the next one.
    size_t first = std::min<size_t>(resume, all.size());
    size_t last = first;
    size_t budget = 0;
    while (last < all.size()) {
        budget += entry_size(all[last], level);
        // Always at least one entry, so a client looping on MORE_DATA progresses.
        if (preferred_max != 0xFFFFFFFF && budget > preferred_max && last > first) {
            break;
        }
        ++last;
    }
    if (status == werr::ok && last < all.size()) {
        status = werr::more_data;
    }
    uint32_t next_resume = last < all.size() ? static_cast<uint32_t>(last) : 0;
    uint32_t count = static_cast<uint32_t>(last - first);

    ndr::writer w;
    // InfoStruct: LPSHARE_ENUM_STRUCT { Level; union { SHARE_INFO_n_CONTAINER* } }.
    w.u32(level);
    w.u32(level);
    w.unique_ptr(enum_level_supported(level), [&](ndr::writer& w) {
        w.u32(count); // EntriesRead
        w.unique_ptr(count > 0, [&](ndr::writer& w) {
            w.u32(count); // conformance
            for (size_t i = first; i < last; ++i) {
                write_share_info(w, all[i], level);
            }
        });
    });
    w.flush_deferred();
    w.u32(static_cast<uint32_t>(all.size())); // TotalEntries
    w.unique_ptr(has_resume, [&](ndr::writer& w) { w.u32(next_resume); });
    w.flush_deferred();
    w.u32(status);
    return {0, w.take()};
}

// MS-SRVS 3.1.4.10 NetrShareGetInfo.
dcerpc::call_result srvsvc::share_get_info(byte_span stub) {
    ndr::reader r(stub);
    r.unique_wstring(); // ServerName
    auto net_name = r.wstring();
    uint32_t level = r.u32();
    if (!r.ok() || !net_name) {
        return bad_stub();
    }

    uint32_t status = werr::ok;
    std::optional<share_entry> found;
    if (!get_info_level_supported(level)) {
        status = werr::invalid_level;
    } else if (auto shares = load_shares(_lister, false)) {
        for (auto& e : *shares) {
            if (equal_nocase(e.name, *net_name)) {
                found = std::move(e);
                break;
            }
        }
        if (!found) {
            status = werr::net_name_not_found;
        }
    } else {
        status = werr::not_enough_memory;
    }

    ndr::writer w;
    w.u32(level); // SHARE_INFO union discriminant
    w.unique_ptr(found.has_value(), [&](ndr::writer& w) { write_share_info(w, *found, level); });
    w.flush_deferred();
    w.u32(status);
    return {0, w.take()};
}

// MS-SRVS 3.1.4.17 NetrServerGetInfo.
dcerpc::call_result srvsvc::server_get_info(byte_span stub) {
    ndr::reader r(stub);
    r.unique_wstring(); // ServerName
    uint32_t level = r.u32();
    if (!r.ok()) {
        return bad_stub();
    }
    constexpr uint32_t type = sv_type_workstation | sv_type_server | sv_type_nt | sv_type_server_nt;
    bool supported = level == 100 || level == 101 || level == 102;

    ndr::writer w;
    w.u32(level);
    w.unique_ptr(supported, [&](ndr::writer& w) {
        w.u32(platform_id_nt);
        w.unique_wstring(_server_name);
        if (level == 100) {
            return;
        }
        w.u32(10); // version 10.0, as current Windows reports
        w.u32(0);
        w.u32(type);
        w.unique_wstring(std::string(server_comment));
        if (level == 101) {
            return;
        }
        w.u32(0xFFFFFFFF); // sv102_users: no limit
        w.u32(0);          // sv102_disc: no autodisconnect
        w.u32(0);          // sv102_hidden
        w.u32(240);        // sv102_announce, seconds (the Windows default)
        w.u32(3000);       // sv102_anndelta, milliseconds
        w.u32(0);          // sv102_licenses
        w.unique_wstring(std::string("C:\\"));
    });
    w.flush_deferred();
    w.u32(supported ? werr::ok : werr::invalid_level);
    return {0, w.take()};
}

} // namespace smbx::ipc_pipe
