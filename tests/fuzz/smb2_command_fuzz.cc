// libFuzzer target for the SMB2 command bodies, fast: each input runs one command's
// handler (or one body parser) directly, on a connection with a ready session and tree
// connects, without the engine's header parse, compound walk and request checks; a
// selector byte picks the command, so the fuzzer does not have to find valid headers,
// message ids, sessions and FileIds first.
//
// Input: byte 0 selects the command or parser (`targets` below), byte 1 the options
// (`option_*`), the rest is the body that follows the 64-byte header the harness
// writes. For a command, the harness puts the table's StructureSize in the body's first
// two bytes (what the engine checks before a handler runs) and, when an option asks,
// the FileId of an open it made for this input (file.txt or dir on the scratch share)
// at the body's FileId field, so the handlers get past the lookup to what they parse.
#include <array>
#include <cstdint>
#include <vector>

#include "dataplane/smb2/create_contexts.hh"
#include "dataplane/smb2/dispatch.hh"
#include "dataplane/smb2/fsctl_copychunk.hh"
#include "dataplane/smb2/fsctl_duplicate_extents.hh"
#include "dataplane/smb2/fsctl_sparse.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/request_checks.hh"
#include "dataplane/vfs/extended_attributes.hh"
#include "tests/fuzz/smb2_fuzz_support.hh"

using namespace smbx;
using smbx::fuzzing::check;
using smbx::smb2::file_id;

namespace {

using handler_fn = void (*)(smb2::request&, smb2::response&);
using parser_fn = void (*)(byte_span);

// A selector: a handler with where its body carries the FileId (-1: none) and whether
// it may change the share (then the share is reset after the input), or a parser. The
// harness's own opens change nothing (FILE_OPEN, no delete-on-close); a CLOSE can only
// close them, and a delete-on-close comes from SET_INFO (FileDispositionInformation).
struct target {
    smb2::command cmd;
    handler_fn handler;
    int file_id_at;
    bool changes_share;
    parser_fn parser;
};

void parse_contexts(byte_span body) {
    auto parsed = smb2::parse_create_contexts(body);
    if (parsed) {
        // Every context the parser returns lies inside the buffer it was given.
        for (const auto& c : *parsed) {
            check(c.name.size() >= 4);
            check(c.name.data() >= body.data() &&
                  c.name.data() + c.name.size() <= body.data() + body.size());
            check(c.data.empty() || (c.data.data() >= body.data() &&
                                     c.data.data() + c.data.size() <= body.data() + body.size()));
        }
    }
}

void parse_full_eas(byte_span body) {
    auto parsed = vfs::parse_full_ea_list(body);
    check(parsed.status != 0 || !parsed.eas.empty() || body.empty());
}

void parse_get_eas(byte_span body) {
    (void)vfs::parse_get_ea_list(body);
}

// SRV_COPYCHUNK_COPY (fsctl_copychunk.hh): what parses lies within the server's limits,
// and the key's FileId comes back only with the tag made for the session.
void parse_copychunk(byte_span body) {
    auto copy = smb2::parse_copychunk_copy(body);
    if (copy) {
        check(copy->chunks.size() <= smb2::copychunk_max_chunks);
        uint64_t total = 0;
        for (const auto& c : copy->chunks) {
            check(c.length > 0 && c.length <= smb2::copychunk_max_chunk_size);
            check(c.source_offset + c.length <= uint64_t(INT64_MAX));
            check(c.target_offset + c.length <= uint64_t(INT64_MAX));
            total += c.length;
        }
        check(total <= smb2::copychunk_max_data_size);
        auto fid = smb2::resume_key_open(copy->source_key, 7);
        if (fid) {
            check(smb2::make_resume_key(7, *fid) == copy->source_key);
        }
    }
}

// The inputs of SET_SPARSE, SET_ZERO_DATA, FILE_LEVEL_TRIM, QUERY_ALLOCATED_RANGES
// (fsctl_sparse.hh) and DUPLICATE_EXTENTS_TO_FILE: no range past INT64_MAX, no more
// trim ranges than the input holds.
void parse_range_inputs(byte_span body) {
    (void)smb2::parse_set_sparse(body);
    if (auto z = smb2::parse_zero_data(body)) {
        check(z->offset + z->length <= uint64_t(INT64_MAX));
    }
    if (auto a = smb2::parse_allocated_range(body)) {
        check(a->offset + a->length <= uint64_t(INT64_MAX));
    }
    if (auto t = smb2::parse_file_level_trim(body)) {
        check(8 + t->size() * 16 <= body.size());
        for (const auto& r : *t) {
            check(r.offset + r.length <= uint64_t(INT64_MAX));
        }
    }
    if (auto d = smb2::parse_duplicate_extents(body)) {
        check(body.size() >= 40);
        check(d->source_offset + d->byte_count <= uint64_t(INT64_MAX));
        check(d->target_offset + d->byte_count <= uint64_t(INT64_MAX));
    }
}

constexpr std::array targets = {
    target{smb2::command::session_setup, smb2::handle_session_setup, -1, false, nullptr},
    target{smb2::command::tree_connect, smb2::handle_tree_connect, -1, false, nullptr},
    target{smb2::command::create, smb2::handle_create, -1, true, nullptr},
    target{smb2::command::close, smb2::handle_close, 8, false, nullptr},
    target{smb2::command::flush, smb2::handle_flush, 8, false, nullptr},
    target{smb2::command::read, smb2::handle_read, 16, false, nullptr},
    target{smb2::command::write, smb2::handle_write, 16, true, nullptr},
    target{smb2::command::lock, smb2::handle_lock, 8, false, nullptr},
    target{smb2::command::ioctl, smb2::handle_ioctl, 8, true, nullptr},
    target{smb2::command::query_directory, smb2::handle_query_directory, 8, false, nullptr},
    target{smb2::command::change_notify, smb2::handle_change_notify, 8, false, nullptr},
    target{smb2::command::query_info, smb2::handle_query_info, 24, false, nullptr},
    target{smb2::command::set_info, smb2::handle_set_info, 16, true, nullptr},
    target{smb2::command::negotiate, nullptr, -1, false, parse_contexts},
    target{smb2::command::negotiate, nullptr, -1, false, parse_full_eas},
    target{smb2::command::negotiate, nullptr, -1, false, parse_get_eas},
    target{smb2::command::ioctl, nullptr, -1, false, parse_copychunk},
    target{smb2::command::ioctl, nullptr, -1, false, parse_range_inputs},
};

// Option bits (byte 1).
constexpr uint8_t option_open_mask = 0x03;   // 0: FileId as sent, 1: file.txt, 2: dir, 3: both
constexpr uint8_t option_ipc_tree = 0x04;    // the request names the IPC$ tree connect
constexpr uint8_t option_new_session = 0x08; // SESSION_SETUP with SessionId 0 (a first one)
constexpr uint8_t option_signed = 0x10;      // SMB2_FLAGS_SIGNED in the header
constexpr uint8_t option_encrypted = 0x20;   // as if it came in a TRANSFORM_HEADER
constexpr uint8_t option_related = 0x40;     // last of a related chain: the open is current

struct world : smb2::fuzzing::engine_world {
    smb2::fuzzing::scratch_share share;
};

// One input's connection: made per input, as cheap as a few maps, so that nothing an
// input allocates outlives it (libFuzzer's leak check then runs only on a real leak,
// not on every input that grew a persistent table).
struct input_state {
    world& w;
    smb2::connection conn{w.settings, *w.control, "fuzz"};
    std::shared_ptr<smb2::session> sess = smb2::fuzzing::make_ready(conn, w.share.path());
};

world& the_world() {
    static world w;
    return w;
}

bytes utf16(const char* ascii) {
    bytes out;
    for (; *ascii; ++ascii) {
        out.push_back(uint8_t(*ascii));
        out.push_back(0);
    }
    return out;
}

void put_le64(uint8_t* at, uint64_t v) {
    for (int i = 0; i < 8; ++i) {
        at[i] = uint8_t(v >> (8 * i));
    }
}

// Runs `handler` on header `h` followed by `body`, as the engine would after its checks.
smb2::response run(input_state& w, smb2::header h, const bytes& body, handler_fn handler,
                   bool encrypted, file_id* chain_file_id) {
    byte_writer m;
    smb2::write_header(m, h);
    m.put(body.data(), body.size());
    bytes message = m.take();
    smb2::request req{.conn = w.conn, .hdr = h, .message = message};
    req.sess = h.session_id ? w.conn.find_session(h.session_id) : nullptr;
    req.tree = req.sess ? req.sess->find_tree(h.tree_id).get() : nullptr;
    req.encrypted = encrypted;
    req.chain_file_id = chain_file_id;
    smb2::response resp;
    if (uint32_t bad = smb2::check_structure_size(message, smb2::request_structure_size(h.cmd))) {
        resp.fail(bad);
        return resp;
    }
    handler(req, resp);
    return resp;
}

// Opens `name` on the disk share through the CREATE handler (read/write, share all);
// the FileId it answers with.
file_id open_for_input(input_state& w, const char* name, bool directory) {
    bytes path = utf16(name);
    byte_writer b;
    b.u16(57);
    b.u8(0);                       // SecurityFlags
    b.u8(0);                       // RequestedOplockLevel
    b.u32(2);                      // ImpersonationLevel: Impersonation
    b.zeros(16);                   // SmbCreateFlags, Reserved
    b.u32(0x001F01FF);             // DesiredAccess: all file rights
    b.u32(0);                      // FileAttributes
    b.u32(7);                      // ShareAccess: read, write, delete
    b.u32(1);                      // CreateDisposition: FILE_OPEN
    b.u32(directory ? 0x1 : 0x40); // FILE_DIRECTORY_FILE or FILE_NON_DIRECTORY_FILE
    b.u16(uint16_t(smb2::header_size + 56));
    b.u16(uint16_t(path.size()));
    b.u32(0); // no create contexts
    b.u32(0);
    b.put(path.data(), path.size());
    smb2::header h;
    h.cmd = smb2::command::create;
    h.session_id = smb2::fuzzing::session_id;
    h.tree_id = smb2::fuzzing::disk_tree_id;
    auto resp = run(w, h, b.take(), smb2::handle_create, false, nullptr);
    check(resp.status == 0);
    byte_reader r(resp.body.buffer());
    r.skip(64); // to FileId (2.2.14)
    file_id id;
    id.persistent = r.u64();
    id.volatile_id = r.u64();
    check(r.ok());
    return id;
}

// No command body may end the session or its tree connects (only LOGOFF and
// TREE_DISCONNECT do, which are not selectable), nor leave a SESSION_SETUP's session
// on the connection when the control plane did not answer.
void check_state(input_state& w) {
    check(w.conn.sessions.size() == 1);
    check(w.sess->st == smb2::session::state::valid && !w.sess->logged_off);
    check(w.sess->find_tree(smb2::fuzzing::disk_tree_id) != nullptr);
    check(w.sess->find_tree(smb2::fuzzing::ipc_tree_id) != nullptr);
}

// Runs one command input on a fresh connection; its opens close when it returns.
void run_command(world& world, const target& t, uint8_t options, bytes body) {
    input_state w{world};
    smb2::header h;
    h.cmd = t.cmd;
    h.message_id = 1;
    h.credits = 1;
    // Every command but SESSION_SETUP needs the session and tree connect the engine
    // found for it (dispatch.cc command table); SESSION_SETUP may start a new session.
    bool new_session = t.cmd == smb2::command::session_setup && (options & option_new_session);
    h.session_id = new_session ? 0 : smb2::fuzzing::session_id;
    h.tree_id =
        (options & option_ipc_tree) ? smb2::fuzzing::ipc_tree_id : smb2::fuzzing::disk_tree_id;
    if (options & option_signed) {
        h.flags |= smb2::flag_signed;
    }
    if (options & option_related) {
        h.flags |= smb2::flag_related_operations;
    }
    if (body.size() >= 2) {
        uint16_t ss = smb2::request_structure_size(t.cmd);
        body[0] = uint8_t(ss);
        body[1] = uint8_t(ss >> 8);
    }
    file_id current{};
    uint8_t open = options & option_open_mask;
    if (open) {
        // Only what the option names: each open is a CREATE through the handler.
        file_id file = open != 2 ? open_for_input(w, "file.txt", false) : file_id{};
        file_id dir = open != 1 ? open_for_input(w, "dir", true) : file_id{};
        current = open == 2 ? dir : file;
        // Both: the FileId field names the file, the chain's current open the directory.
        if (t.file_id_at >= 0 && body.size() >= size_t(t.file_id_at) + 16) {
            bool related_placeholder = open == 3 && (options & option_related);
            file_id put = related_placeholder ? file_id{~0ULL, ~0ULL} : current;
            put_le64(&body[t.file_id_at], put.persistent);
            put_le64(&body[t.file_id_at + 8], put.volatile_id);
        }
        if (open == 3) {
            current = dir;
        }
    }
    auto resp = run(w, h, body, t.handler, options & option_encrypted,
                    (options & option_related) ? &current : nullptr);
    // A failed request answers with the ERROR body alone (2.2.2), which the engine writes.
    check(!resp.error_body || resp.body.size() == 0);
    check_state(w);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) {
        return 0;
    }
    world& world = the_world();
    const target& t = targets[data[0] % targets.size()];
    uint8_t options = data[1];
    bytes body(data + 2, data + size);
    if (t.parser) {
        t.parser(body);
        return 0;
    }
    run_command(world, t, options, std::move(body));
    world.drain_control();
    // After the connection is gone: a delete-on-close must not hit the fresh files.
    if (t.changes_share) {
        world.share.reset();
    }
    return 0;
}
