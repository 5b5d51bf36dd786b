// Where a request runs (dispatch.hh plan_message, the command table's placement
// column) and what a polling worker does with it: a single ECHO, a READ it may serve
// from the page cache, or a WRITE to a file in memory run on the worker; everything
// else on the request threads. The READ and WRITE are parsed once, by the plan, and
// no file data is read before the request passed its checks (the signature first).
#include "dataplane/smb2/dispatch.hh"

#include <fstream>
#include <iterator>

#include "../vfs/smb2_harness.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/smb2/crypto.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/open_lookup.hh"

namespace smbx::vfs {
namespace {

using namespace smbx::vfs::testing;

constexpr uint32_t rw = file_generic_read | file_generic_write;

uint64_t file_reads() {
    return counters::total(&counters::data_path::smb2_read_file_reads);
}

class worker_path : public smb2_fixture {
protected:
    uint64_t next_message_id = 0;

    void SetUp() override {
        smb2_fixture::SetUp();
        conn->credits.grant(1024); // messages only planned leave their MessageIds unused
    }

    bytes message(smb2::command cmd, const bytes& body, uint32_t next_command = 0,
                  uint32_t flags = 0) {
        smb2::header h;
        h.cmd = cmd;
        h.session_id = 7;
        h.tree_id = 3;
        h.next_command = next_command;
        h.flags = flags;
        h.message_id = next_message_id++;
        byte_writer w;
        smb2::write_header(w, h);
        w.put(body);
        return w.take();
    }
    smb2::message_plan plan(const bytes& msg) { return smb2::plan_message(*conn, msg); }
    // The status of the engine's one reply, and its READ data if any.
    static uint32_t status_of(const smb2::processing_result& r) {
        smb2::header h;
        EXPECT_EQ(r.replies.size(), 1u);
        if (r.replies.empty() || !smb2::parse_header(r.replies[0].head, h)) {
            return ~0u;
        }
        return h.status;
    }
    static std::string payload_of(const smb2::processing_result& r) {
        if (r.replies.empty()) {
            return {};
        }
        auto& p = r.replies[0].payload;
        return std::string(p.data(), p.data() + p.size());
    }
    // A session that signs: requests must carry a valid signature (3.3.5.2.4).
    void require_signing() {
        sess->signing_key = bytes(16, 0x22);
        sess->signing_required = true;
        conn->signing_alg = smb2::signing_algorithm::aes_cmac;
    }
    bytes signed_message(smb2::command cmd, const bytes& body, bool good) {
        bytes m = message(cmd, body, 0, smb2::flag_signed);
        EXPECT_TRUE(smb2::crypto::sign_in_place(conn->signing_alg,
                                                good ? sess->signing_key : bytes(16, 0x99), m));
        return m;
    }
    std::string fill(const char* name, file_id& id, size_t size) {
        id = open(name, rw, 2 /*CREATE*/);
        std::string data(size, 'x');
        for (size_t i = 0; i < data.size(); ++i) {
            data[i] = char('a' + i % 26);
        }
        EXPECT_EQ(call(smb2::handle_write, write_body(id, 0, data)).status, status::success);
        return data;
    }
};

TEST_F(worker_path, a_cached_read_is_placed_on_the_worker_and_read_once_after_its_checks) {
    file_id id;
    std::string data = fill("cached.bin", id, 100000);
    auto msg = message(smb2::command::read, read_body(id, 1000, 65536));
    uint64_t before = file_reads();
    auto p = plan(msg);
    ASSERT_TRUE(p.on_worker);
    ASSERT_TRUE(p.read_write);
    EXPECT_EQ(p.read_write->offset, 1000u);
    EXPECT_EQ(p.read_write->length, 65536u);
    EXPECT_EQ(p.read_write->id.volatile_id, id.volatile_id);
    EXPECT_EQ(file_reads(), before) << "placing a READ reads nothing";

    auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), p);
    ASSERT_FALSE(r.suspended);
    EXPECT_EQ(status_of(r), status::success);
    EXPECT_EQ(payload_of(r), data.substr(1000, 65536));
    EXPECT_EQ(file_reads(), before + 1) << "one read, on the worker";

    // Near end of file: a short read is still complete (end of file, not a cache miss).
    auto tail = message(smb2::command::read, read_body(id, 99990, 4096));
    auto t = smb2::process_planned(*conn, pool_buffer(bytes(tail)), plan(tail));
    EXPECT_EQ(payload_of(t), data.substr(99990));
}

TEST_F(worker_path, a_read_whose_signature_fails_reads_no_file_data) {
    file_id id;
    std::string data = fill("signed.bin", id, 8192);
    require_signing();

    // On the worker, as placed: the checks run there first.
    uint64_t before = file_reads();
    auto bad = signed_message(smb2::command::read, read_body(id, 0, 4096), false);
    auto p = plan(bad);
    ASSERT_TRUE(p.on_worker);
    auto r = smb2::process_planned(*conn, pool_buffer(bytes(bad)), p);
    EXPECT_EQ(status_of(r), status::access_denied);
    EXPECT_EQ(file_reads(), before) << "a bad signature: the file is not read";

    // On a request thread alike (process_message: no plan).
    auto r2 = smb2::process_message(
        *conn, pool_buffer(signed_message(smb2::command::read, read_body(id, 0, 4096), false)));
    EXPECT_EQ(status_of(r2), status::access_denied);
    // Unsigned where the session requires signing: refused before any read too.
    auto r3 = smb2::process_message(
        *conn, pool_buffer(message(smb2::command::read, read_body(id, 0, 4096))));
    EXPECT_EQ(status_of(r3), status::access_denied);
    EXPECT_EQ(file_reads(), before);

    // The same READ signed right is read, once.
    auto good = signed_message(smb2::command::read, read_body(id, 0, 4096), true);
    auto ok = smb2::process_planned(*conn, pool_buffer(bytes(good)), plan(good));
    EXPECT_EQ(status_of(ok), status::success);
    EXPECT_EQ(payload_of(ok), data.substr(0, 4096));
    EXPECT_EQ(file_reads(), before + 1);
}

TEST_F(worker_path, a_read_without_access_or_on_a_closed_file_reads_no_file_data) {
    file_id id;
    fill("ro.bin", id, 4096);
    auto wo = open("ro.bin", file_write_data, 1 /*OPEN*/);
    uint64_t before = file_reads();
    auto denied = message(smb2::command::read, read_body(wo, 0, 4096));
    EXPECT_EQ(status_of(smb2::process_planned(*conn, pool_buffer(bytes(denied)), plan(denied))),
              status::access_denied);
    auto closed = message(smb2::command::read, read_body({1, 999}, 0, 4096));
    auto pc = plan(closed);
    EXPECT_TRUE(pc.on_worker) << "answered without I/O";
    EXPECT_EQ(status_of(smb2::process_planned(*conn, pool_buffer(bytes(closed)), pc)),
              status::file_closed);
    EXPECT_EQ(file_reads(), before);
}

TEST_F(worker_path, a_read_the_worker_cannot_serve_without_waiting_is_resumed_off_it) {
    file_id id;
    std::string data = fill("slow.bin", id, 16384);
    auto msg = message(smb2::command::read, read_body(id, 4096, 8192));
    auto p = plan(msg);
    ASSERT_TRUE(p.on_worker);
    // As if the file system had refused RWF_NOWAIT since the plan: the worker may not
    // read it, so the request stops after its checks, unanswered.
    auto f = as_file_open(conn->find_open(*sess, id));
    ASSERT_TRUE(f);
    f->set_worker_reads(file_open::nowait_read::unsupported);
    uint64_t before = file_reads();
    auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), p);
    ASSERT_TRUE(r.suspended);
    EXPECT_TRUE(r.replies.empty());
    EXPECT_EQ(file_reads(), before);

    auto done = smb2::resume(*conn, *r.suspended);
    EXPECT_FALSE(done.suspended);
    EXPECT_EQ(status_of(done), status::success);
    EXPECT_EQ(payload_of(done), data.substr(4096, 8192));
    EXPECT_EQ(file_reads(), before + 1) << "read once, off the worker";
    EXPECT_FALSE(plan(message(smb2::command::read, read_body(id, 0, 1))).on_worker)
        << "and such a file's READs go to the request threads from then on";
}

TEST_F(worker_path, only_single_plain_echo_and_read_stay_on_the_worker) {
    auto id = open("f.txt", rw, 2);
    EXPECT_TRUE(plan(message(smb2::command::echo, {4, 0, 0, 0})).on_worker);
    EXPECT_FALSE(plan(message(smb2::command::close, close_body(id))).on_worker);
    EXPECT_FALSE(plan(message(smb2::command::create, create_body("g.txt", rw, 2))).on_worker);
    EXPECT_FALSE(plan(message(smb2::command::read, read_body(id, 0, 10), 8 * 30)).on_worker)
        << "a compound goes to the request threads";
    // Stream data lives in extended attributes: blocking calls, request threads.
    auto s = open("f.txt:alt", rw, 2);
    auto sp = plan(message(smb2::command::read, read_body(s, 0, 1)));
    EXPECT_FALSE(sp.on_worker);
    EXPECT_TRUE(sp.read_write) << "parsed once, also for the request threads";
    // A READ cut short fails without I/O: on the worker, INVALID_PARAMETER.
    bytes cut = read_body(id, 0, 10);
    cut.resize(20);
    auto cm = message(smb2::command::read, cut);
    auto cp = plan(cm);
    EXPECT_TRUE(cp.on_worker);
    EXPECT_FALSE(cp.read_write);
    EXPECT_EQ(status_of(smb2::process_planned(*conn, pool_buffer(bytes(cm)), cp)),
              status::invalid_parameter);
    conn->negotiated = false;
    EXPECT_FALSE(plan(message(smb2::command::echo, {4, 0, 0, 0})).on_worker)
        << "nothing before NEGOTIATE";
}

TEST_F(worker_path, only_writes_to_files_in_memory_stay_on_the_worker) {
    auto id = open("w.bin", rw, 2);
    auto write = [&](file_id f, uint32_t flags = 0) {
        bytes body = write_body(f, 0, "data");
        body[44] = uint8_t(flags); // Flags (2.2.21), after the fixed fields before it
        return message(smb2::command::write, body);
    };
    // The fixture's share is on a disk file system: a write may wait for the device.
    EXPECT_FALSE(plan(write(id)).on_worker);
    // The same file as if it lived in tmpfs (create_file decides that with fstatfs).
    auto f = as_file_open(conn->find_open(*sess, id));
    ASSERT_TRUE(f);
    f->set_worker_reads(file_open::nowait_read::memory_backed);
    auto p = plan(write(id));
    EXPECT_TRUE(p.on_worker);
    ASSERT_TRUE(p.read_write);
    EXPECT_EQ(p.read_write->length, 4u);
    EXPECT_EQ(p.read_write->data_offset, smb2::header_size + 48);
    auto wt = plan(write(id, 1 /*WRITE_THROUGH*/));
    EXPECT_FALSE(wt.on_worker) << "write-through waits for the device";
    EXPECT_EQ(wt.read_write->flags, 1u);
    // What fails without I/O is answered on the worker.
    EXPECT_TRUE(plan(write({1, 999})).on_worker);
    // The engine then writes on the worker, with the plan's parse.
    auto msg = write(id);
    auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), plan(msg));
    EXPECT_FALSE(r.suspended);
    EXPECT_EQ(status_of(r), status::success);
    std::ifstream in(share.root() + "/w.bin");
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(got, "data");
}

} // namespace
} // namespace smbx::vfs
