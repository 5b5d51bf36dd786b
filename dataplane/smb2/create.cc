// SMB2 CREATE (MS-SMB2 2.2.13, 2.2.14, 3.3.5.9): parses the request and its create
// contexts, opens a named pipe on IPC$ or a file through vfs::create_file, asks the
// oplock and lease arbiter what the open may cache (create_caching.hh, lease_router.hh)
// and writes the response with the contexts the server grants (MxAc, QFid, RqLs). A
// CREATE whose open breaks another client's caching waits for that break's
// acknowledgement: asynchronously (STATUS_PENDING), retried when the arbiter releases
// the file. Durable handles are not granted: DHnQ and DH2Q are ignored and not echoed,
// a durable reconnect (DHnC, DH2C) finds nothing, and so does a snapshot (TWrp).
#include <cstring>
#include <optional>
#include <vector>

#include "dataplane/control_client.hh"
#include "dataplane/rpc/named_pipe.hh"
#include "dataplane/smb2/async_ops.hh"
#include "dataplane/smb2/create_caching.hh"
#include "dataplane/smb2/create_contexts.hh"
#include "dataplane/smb2/dispatch.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/lease_router.hh"
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
    uint8_t oplock_level = 0;
    uint32_t action = vfs::file_opened;
    vfs::file_info info;
    file_id id;
    std::vector<reply_context> contexts;
};

void write_response(response& resp, const create_reply& r) {
    auto& w = resp.body;
    w.u16(89);
    w.u8(r.oplock_level);
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

void add_to_session(session& s, uint32_t tree_id, file_id* chain_file_id,
                    std::shared_ptr<open_handle> h, create_reply& r) {
    h->session_id = s.id;
    h->tree_id = tree_id;
    r.id = s.add_open(std::move(h));
    if (chain_file_id) {
        *chain_file_id = r.id;
    }
}

void finish_open(request& req, std::shared_ptr<open_handle> h, create_reply& r) {
    add_to_session(*req.sess, req.tree->id, req.chain_file_id, std::move(h), r);
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

// A CREATE past its open and before its response: what the arbiter's answer completes,
// at once or, for one that waits for breaks, on its connection's strand later.
struct waiting_create {
    vfs::create_outcome outcome;
    vfs::create_params params; // without token and security: read after the request
    std::vector<vfs::ea_entry> eas;
    bool want_mxac = false;
    bool want_qfid = false;
    bool quota_fake = false;
    bool oplocks = true; // the share's `oplocks` and `level2 oplocks`
    bool level2_oplocks = true;
    // Not the last request of its chain: it cannot go asynchronous (3.3.5.2.7) and its
    // chain holds the connection's strand, which a break to this same connection needs;
    // so it sends the breaks it causes and goes on without waiting for them.
    bool in_compound = false;
    caching_request caching;
    // A CREATE that met a sharing violation and waits for handle caching breaks: the
    // request, to be run again whole.
    bytes rerun;
    ipc::lease_open_request ask; // ask.open == 0: not arbitrated
    uint64_t releases_seen = 0;  // lease_router::releases() before the last question
    uint64_t session_id = 0;
    uint32_t tree_id = 0;
};

namespace {

// An open for attributes alone neither breaks nor gets an oplock or a lease (MS-FSA
// 2.1.5.1.2.1: the oplock checks skip an open whose access has nothing but
// FILE_READ_ATTRIBUTES, FILE_WRITE_ATTRIBUTES and SYNCHRONIZE; smbtorture
// smb2.oplock.statopen1).
bool is_stat_open(const open_handle& open, const vfs::create_outcome& outcome) {
    constexpr uint32_t stat_access =
        vfs::file_read_attributes | vfs::file_write_attributes | vfs::synchronize;
    // One that created or overwrites the file is an open like any other (smbtorture
    // smb2.oplock.batch9, exclusive5).
    return (open.granted_access & ~stat_access) == 0 && outcome.action != vfs::file_created &&
           !outcome.overwrite_pending;
}

struct arbiter_answer {
    uint32_t status = status::success;
    bool wait = false;
    caching_grant grant;
};

// Asks the arbiter what the open may cache (3.3.5.9: after the share-mode check,
// before an overwrite). The first time, the open joins arbitration: files only
// (directory leases are not offered), and only where the server arbitrates.
arbiter_answer ask_arbiter(connection& conn, waiting_create& w) {
    auto& open = w.outcome.open;
    if (!conn.leases || !w.oplocks || w.quota_fake || open->is_directory() ||
        is_stat_open(*open, w.outcome)) {
        return {};
    }
    if (!w.ask.open) {
        auto m = std::make_unique<lease_membership>();
        m->router = conn.leases;
        m->ref = conn.leases->opens().add({open, conn.run_on_strand, w.session_id});
        if (w.caching.lease) {
            m->lease = true;
            m->key = w.caching.lease->key;
            m->lease_version = w.caching.lease->version;
        }
        auto k = open->key();
        m->file_key = arbiter_file_key(k.device, k.inode, k.stream);
        m->file = open->shared_state();
        w.ask = arbiter_request(conn, w.caching, m->ref, m->file_key, w.outcome.overwrite_pending);
        w.ask.level2_oplocks = w.level2_oplocks;
        w.ask.no_wait = w.in_compound;
        open->caching = std::move(m);
    }
    auto reply = conn.leases->arbiter().lease_open(w.ask);
    if (!reply) {
        return {}; // no answer (smbx-control restarting): nothing is cached
    }
    if (reply->status != status::success) {
        return {reply->status, false, {}};
    }
    if (reply->wait) {
        w.ask.after_break = true; // the next question comes after the breaks ended
        return {status::success, true, {}};
    }
    return {status::success, false, grant_of(w.caching, *reply)};
}

// The open, granted what it may cache: the overwrite and EAs it asked for, then the
// session's table and the response.
uint32_t complete_open(waiting_create& w, const caching_grant& grant, session& s,
                       file_id* chain_file_id, response& resp) {
    auto& o = w.outcome;
    if (uint32_t st = vfs::finish_overwrite(*o.open, w.params, o)) {
        return st;
    }
    if (!w.eas.empty() && o.action != vfs::file_opened) {
        // EAs are set on files the create made or overwrote (MS-FSA 2.1.5.1.2.1).
        if (uint32_t st = vfs::set_eas(o.open->fd(), w.eas)) {
            return st;
        }
    }
    auto info = o.open->info();
    if (!info) {
        return status::unsuccessful;
    }
    create_reply r;
    r.oplock_level = grant.oplock_level;
    r.action = o.action;
    r.info = *info;
    if (w.quota_fake) {
        r.info = vfs::file_info{}; // no times or sizes, as Samba's fake file
        r.info.attributes = quota_fake_attributes;
    }
    if (w.want_mxac) {
        byte_writer d;
        d.u32(status::success); // QueryStatus
        d.u32(o.maximal_access);
        r.contexts.push_back({"MxAc", d.take()});
    }
    if (w.want_qfid) {
        byte_writer d; // DiskFileId: inode, then volume id; 32 bytes (2.2.14.2.9)
        d.u64(info->index_number);
        d.u64(info->device);
        d.zeros(16);
        r.contexts.push_back({"QFid", d.take()});
    }
    if (!grant.lease_context.empty()) {
        r.contexts.push_back({"RqLs", grant.lease_context});
    }
    if (auto* m = membership_of(*o.open)) {
        m->set_caching(grant.caching);
    }
    add_to_session(s, w.tree_id, chain_file_id, o.open, r);
    write_response(resp, r);
    return status::success;
}

void retry_create(connection& conn, uint64_t async_id);

void wait_for_release(connection& conn, const std::string& file, uint64_t seen, uint64_t async_id) {
    conn.leases->wait_for_release(file, seen, conn.run_on_strand,
                                  [async_id](connection& c) { retry_create(c, async_id); });
}

// The request goes (or, run again, stays) asynchronous: its AsyncId.
uint64_t wait_async(request& req, response& resp) {
    if (req.async_id) {
        resp.status = status::pending;
        resp.pending = true;
        return req.async_id;
    }
    return go_async(req, resp);
}

// A CREATE refused by the share modes of opens whose owners may cache handles (a
// batch oplock, an H lease): they are asked to close them (3.3.5.9, MS-FSA 2.1.5.1.2.1)
// and, once they acknowledged, the CREATE runs again. True when it waits for that.
bool break_handle_caching(request& req, response& resp, waiting_create& w) {
    const auto& conflict = w.outcome.sharing_conflict;
    if (!req.conn.leases || !w.oplocks || !conflict || req.handle_caching_broken ||
        !req.last_in_chain) {
        return false;
    }
    ipc::lease_handles_request m;
    m.file = arbiter_file_key(conflict->device, conflict->inode, conflict->stream);
    if (w.caching.lease) {
        m.has_lease = true;
        m.client = req.conn.client_guid;
        m.lease_key = w.caching.lease->key;
    }
    uint64_t seen = req.conn.leases->releases();
    auto reply = req.conn.leases->arbiter().lease_handles(m);
    if (!reply || !reply->wait) {
        return false;
    }
    uint64_t async_id = wait_async(req, resp);
    w.rerun.assign(req.message.begin(), req.message.end());
    req.conn.waiting_creates[async_id] = std::make_shared<waiting_create>(std::move(w));
    wait_for_release(req.conn, m.file, seen, async_id);
    return true;
}

// A CREATE waiting for handle caching breaks runs again whole, under its AsyncId.
void rerun_create(connection& conn, uint64_t async_id, session& s, const waiting_create& w) {
    bytes message = w.rerun;
    header h;
    auto tree = s.find_tree(w.tree_id);
    conn.waiting_creates.erase(async_id);
    if (!tree || !parse_header(message, h)) {
        complete_async(conn, async_id, status::network_name_deleted, {});
        return;
    }
    request req{conn, h, message, &s, tree.get()};
    req.tree_ref = tree;
    req.async_id = async_id;
    req.handle_caching_broken = true;
    response resp;
    handle_create(req, resp);
    if (!resp.pending) {
        complete_async(conn, async_id, resp.status, resp.error_body ? bytes{} : resp.body.take());
    }
}

// A waiting CREATE's file was released (or a release may have been missed): ask again,
// and answer the CREATE unless it must wait still. One that was cancelled or whose
// session or tree ended is gone from async_ops: its open closes here.
void retry_create(connection& conn, uint64_t async_id) {
    auto it = conn.waiting_creates.find(async_id);
    if (it == conn.waiting_creates.end()) {
        return;
    }
    auto w = it->second;
    session* s = conn.find_session(w->session_id);
    if (!conn.async_ops.find(async_id) || !s) {
        conn.waiting_creates.erase(it);
        return;
    }
    if (!w->rerun.empty()) {
        rerun_create(conn, async_id, *s, *w);
        return;
    }
    w->releases_seen = conn.leases->releases();
    auto asked = ask_arbiter(conn, *w);
    if (asked.wait) {
        wait_for_release(conn, w->ask.file, w->releases_seen, async_id);
        return;
    }
    conn.waiting_creates.erase(it);
    response resp;
    uint32_t st = asked.status;
    if (st == status::success) {
        st = complete_open(*w, asked.grant, *s, nullptr, resp);
    }
    complete_async(conn, async_id, st, st == status::success ? resp.body.take() : bytes{});
}

} // namespace

void handle_create(request& req, response& resp) {
    auto b = req.body();
    b.u16(); // StructureSize: the command table checked it
    b.u8();  // SecurityFlags
    uint8_t requested_oplock = b.u8();
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

    auto w = std::make_shared<waiting_create>();
    std::optional<byte_span> rqls;
    std::optional<vfs::security_descriptor> secd;
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
            w->eas = std::move(parsed_eas.eas);
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
            w->want_mxac = true;
        } else if (c.is("QFid")) {
            w->want_qfid = true;
        } else if (c.is("RqLs")) {
            rqls = c.data;
        }
    }
    auto caching = read_caching_request(req.conn, requested_oplock, rqls);
    if (!caching) {
        resp.fail(status::invalid_parameter);
        return;
    }
    w->caching = *caching;
    w->oplocks = req.tree->share.oplocks;
    w->in_compound = !req.last_in_chain;
    w->level2_oplocks = req.tree->share.level2_oplocks;

    w->quota_fake = is_quota_fake_file(name);
    auto parsed = vfs::parse_smb_name(w->quota_fake ? byte_span{} : name);
    if (parsed.status != status::success) {
        resp.fail(parsed.status);
        return;
    }
    const auto& nb = req.conn.settings.netbios_name;
    auto token = vfs::make_access_token(std::string_view(nb, strnlen(nb, sizeof(nb))),
                                        req.sess->user, req.sess->guest, req.sess->anonymous);
    p.token = &token;
    p.security = secd ? &*secd : nullptr;
    p.defer_overwrite = req.conn.leases != nullptr;
    w->outcome = vfs::create_file(req.tree->share.path, req.tree->read_only(), parsed.name, p);
    w->session_id = req.sess->id;
    w->tree_id = req.tree->id;
    if (w->outcome.status != status::success) {
        if (w->outcome.status != status::sharing_violation ||
            !break_handle_caching(req, resp, *w)) {
            resp.fail(w->outcome.status);
        }
        return;
    }
    p.token = nullptr; // what finishing the open reads of `p` after this request
    p.security = nullptr;
    w->params = p;

    w->releases_seen = req.conn.leases ? req.conn.leases->releases() : 0;
    auto asked = ask_arbiter(req.conn, *w);
    if (asked.wait && req.last_in_chain) {
        uint64_t async_id = wait_async(req, resp);
        req.conn.waiting_creates[async_id] = w;
        wait_for_release(req.conn, w->ask.file, w->releases_seen, async_id);
        return;
    }
    if (asked.status != status::success) {
        resp.fail(asked.status);
        return;
    }
    if (uint32_t st = complete_open(*w, asked.grant, *req.sess, req.chain_file_id, resp)) {
        resp.fail(st);
    }
}

} // namespace smbx::smb2
