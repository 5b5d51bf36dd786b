// SMB2 CREATE (MS-SMB2 2.2.13, 2.2.14, 3.3.5.9): parses the request and its create
// contexts, opens a named pipe on IPC$ or a file through vfs::create_file, and writes
// the response with the contexts the server grants (MxAc, QFid). Oplocks, leases and
// durable handles are not granted: RqLs, DHnQ and DH2Q are ignored and not echoed, a
// durable reconnect (DHnC, DH2C) finds nothing, and so does a snapshot (TWrp).
#include <cstring>
#include <optional>
#include <vector>

#include "dataplane/control_client.hh"
#include "dataplane/rpc/named_pipe.hh"
#include "dataplane/smb2/create_contexts.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/create_file.hh"
#include "dataplane/vfs/extended_attributes.hh"
#include "dataplane/vfs/name_match.hh"

namespace smbx::smb2 {

namespace {

constexpr size_t create_fixed_end = header_size + 56; // Buffer starts here

struct reply_context {
    const char* tag;
    bytes data;
};

void put_contexts(byte_writer& w, const std::vector<reply_context>& ctxs) {
    for (size_t i = 0; i < ctxs.size(); ++i) {
        size_t start = w.size();
        size_t next_at = w.reserve(4);
        w.u16(16); // NameOffset
        w.u16(4);  // NameLength
        w.u16(0);  // Reserved
        w.u16(ctxs[i].data.empty() ? 0 : 24);
        w.u32(uint32_t(ctxs[i].data.size()));
        w.put(ctxs[i].tag, 4);
        w.zeros(4); // pad the name to 8 bytes
        w.put(ctxs[i].data);
        if (i + 1 < ctxs.size()) {
            w.align(8);
            w.patch_u32(next_at, uint32_t(w.size() - start));
        }
    }
}

struct create_reply {
    uint32_t action = vfs::file_opened;
    vfs::file_info info;
    file_id id;
    std::vector<reply_context> contexts;
};

void write_response(response& resp, const create_reply& r) {
    auto& w = resp.body;
    w.u16(89);
    w.u8(0); // OplockLevel: none granted
    w.u8(0); // Flags
    w.u32(r.action);
    w.u64(r.info.creation_time);
    w.u64(r.info.last_access_time);
    w.u64(r.info.last_write_time);
    w.u64(r.info.change_time);
    w.u64(r.info.allocation_size);
    w.u64(r.info.end_of_file);
    w.u32(r.info.attributes);
    w.u32(0); // Reserved2
    w.u64(r.id.persistent);
    w.u64(r.id.volatile_id);
    size_t ctx_fields = w.reserve(8);
    if (!r.contexts.empty()) {
        w.align(8);
        uint32_t offset = uint32_t(resp.next_offset());
        size_t start = w.size();
        put_contexts(w, r.contexts);
        w.patch_u32(ctx_fields, offset);
        w.patch_u32(ctx_fields + 4, uint32_t(w.size() - start));
    }
}

void finish_open(request& req, std::shared_ptr<open_handle> h, create_reply& r) {
    h->session_id = req.sess->id;
    h->tree_id = req.tree->id;
    r.id = req.sess->add_open(std::move(h));
    if (req.chain_file_id) {
        *req.chain_file_id = r.id;
    }
}

void open_pipe(request& req, response& resp, byte_span name_utf16, uint32_t desired) {
    std::string name;
    if (!utf16le_to_utf8(name_utf16, name)) {
        resp.fail(status::object_name_invalid);
        return;
    }
    auto lister = [&conn = req.conn]() -> std::optional<std::vector<ipc::share_info>> {
        auto reply = conn.control.enum_shares();
        if (!reply) {
            return std::nullopt;
        }
        return std::move(reply->shares);
    };
    const auto& nb = req.conn.settings.netbios_name;
    std::string_view server(nb, strnlen(nb, sizeof(nb)));
    auto pipe = ipc_pipe::open_named_pipe(name, lister, server);
    if (!pipe) {
        resp.fail(status::object_name_not_found);
        return;
    }
    pipe->granted_access = vfs::map_generic(desired) & ~vfs::maximum_allowed;
    pipe->path = name;
    create_reply r;
    r.info.attributes = vfs::attr_normal;
    r.info.allocation_size = 4096;
    finish_open(req, pipe, r);
    write_response(resp, r);
}

// NTFS's quota file "$Extend\$Quota:$Q:$INDEX_ALLOCATION": clients open it to query
// and set quotas; as Samba does, it opens the share root (smbtorture
// smb2.create.quota-fake-file).
constexpr uint32_t quota_fake_attributes =
    vfs::attr_hidden | vfs::attr_system | vfs::attr_directory | vfs::attr_archive;

bool is_quota_fake_file(byte_span name_utf16) {
    std::string n;
    if (!utf16le_to_utf8(name_utf16, n)) {
        return false;
    }
    return vfs::iequals(n, "$Extend\\$Quota:$Q:$INDEX_ALLOCATION");
}

} // namespace

void handle_create(request& req, response& resp) {
    auto b = req.body();
    b.u16(); // StructureSize: the command table checked it
    b.u8();  // SecurityFlags
    b.u8();  // RequestedOplockLevel
    uint32_t impersonation = b.u32();
    b.skip(16); // SmbCreateFlags, Reserved
    vfs::create_params p;
    p.direct_io = req.tree && req.tree->share.direct_io;
    p.desired_access = b.u32();
    p.file_attributes = b.u32();
    p.share_access = b.u32();
    p.disposition = b.u32();
    p.options = b.u32();
    uint16_t name_offset = b.u16();
    uint16_t name_length = b.u16();
    uint32_t ctx_offset = b.u32();
    uint32_t ctx_length = b.u32();
    if (!b.ok()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    // 3.3.5.9: the name lies inside the request, after the fixed part, in whole
    // UTF-16 code units.
    byte_reader msg(req.message);
    byte_span name;
    if (name_length) {
        if (name_offset < create_fixed_end || name_length % 2) {
            resp.fail(status::invalid_parameter);
            return;
        }
        name = msg.at(name_offset, name_length);
    }
    std::vector<create_context> contexts;
    if (ctx_length) {
        auto buf = msg.at(ctx_offset, ctx_length);
        auto parsed = msg.ok() && ctx_offset >= create_fixed_end && ctx_offset % 8 == 0
                          ? parse_create_contexts(buf)
                          : std::nullopt;
        if (!parsed) {
            resp.fail(status::invalid_parameter);
            return;
        }
        contexts = std::move(*parsed);
    }
    if (!msg.ok()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    if (impersonation > 3) {
        resp.fail(status::bad_impersonation_level);
        return;
    }
    if (req.tree->is_ipc()) {
        open_pipe(req, resp, name, p.desired_access);
        return;
    }

    bool want_mxac = false;
    bool want_qfid = false;
    std::optional<vfs::security_descriptor> secd;
    std::vector<vfs::ea_entry> eas;
    for (const auto& c : contexts) {
        if (c.is("DHnC") || c.is("DH2C") || c.is("TWrp")) {
            resp.fail(status::object_name_not_found); // 3.3.5.9.7, 3.3.5.9.12
            return;
        }
        if (c.is("ExtA")) {
            // 2.2.13.2.1: FILE_FULL_EA_INFORMATION entries, validated before the open.
            auto parsed_eas = vfs::parse_full_ea_list(c.data);
            if (parsed_eas.status != status::success) {
                resp.fail(parsed_eas.status);
                return;
            }
            eas = std::move(parsed_eas.eas);
        } else if (c.is("AlSi")) {
            if (c.data.size() != 8) {
                resp.fail(status::invalid_parameter);
                return;
            }
            byte_reader d(c.data);
            p.allocation_size = d.u64();
        } else if (c.is("SecD")) {
            // 2.2.13.2.2: the new file's security descriptor, self-relative.
            auto parsed_sd = vfs::parse_security_descriptor(c.data);
            if (parsed_sd.status != status::success) {
                resp.fail(parsed_sd.status);
                return;
            }
            secd = std::move(parsed_sd.sd);
        } else if (c.is("MxAc")) {
            if (!c.data.empty() && c.data.size() != 8) {
                resp.fail(status::invalid_parameter);
                return;
            }
            want_mxac = true;
        } else if (c.is("QFid")) {
            want_qfid = true;
        }
    }

    bool quota_fake = is_quota_fake_file(name);
    auto parsed = vfs::parse_smb_name(quota_fake ? byte_span{} : name);
    if (parsed.status != status::success) {
        resp.fail(parsed.status);
        return;
    }
    const auto& nb = req.conn.settings.netbios_name;
    auto token = vfs::make_access_token(std::string_view(nb, strnlen(nb, sizeof(nb))),
                                        req.sess->user, req.sess->guest, req.sess->anonymous);
    p.token = &token;
    p.security = secd ? &*secd : nullptr;
    auto outcome = vfs::create_file(req.tree->share.path, req.tree->read_only(), parsed.name, p);
    if (outcome.status != status::success) {
        resp.fail(outcome.status);
        return;
    }
    if (!eas.empty() && outcome.action != vfs::file_opened) {
        // EAs are set on files the create made or overwrote (MS-FSA 2.1.5.1.2.1).
        if (uint32_t st = vfs::set_eas(outcome.open->fd(), eas)) {
            resp.fail(st);
            return;
        }
    }
    auto info = outcome.open->info();
    if (!info) {
        resp.fail(status::unsuccessful);
        return;
    }
    create_reply r;
    r.action = outcome.action;
    r.info = *info;
    if (quota_fake) {
        r.info = vfs::file_info{}; // no times or sizes, as Samba's fake file
        r.info.attributes = quota_fake_attributes;
    }
    if (want_mxac) {
        byte_writer d;
        d.u32(status::success); // QueryStatus
        d.u32(outcome.maximal_access);
        r.contexts.push_back({"MxAc", d.take()});
    }
    if (want_qfid) {
        byte_writer d; // DiskFileId: inode, then volume id; 32 bytes (2.2.14.2.9)
        d.u64(info->index_number);
        d.u64(info->device);
        d.zeros(16);
        r.contexts.push_back({"QFid", d.take()});
    }
    finish_open(req, outcome.open, r);
    write_response(resp, r);
}

} // namespace smbx::smb2
