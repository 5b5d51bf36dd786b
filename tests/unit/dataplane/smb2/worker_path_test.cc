// Where a request runs (dispatch.hh plan_message, the command table's placement
// column) and what a polling worker does with it: a single ECHO, READ or WRITE runs on
// the worker, its file I/O at once where it cannot wait (the page cache, a file in
// memory) and otherwise deferred to the worker's asynchronous file I/O, the request
// answered in the completion; everything else on the request threads. The READ and
// WRITE are parsed once, by the plan, and no file data is read before the request
// passed its checks (the signature first).
#include "dataplane/smb2/dispatch.hh"

#include <fstream>
#include <iterator>

#include "../runtime/fake_async_file_io.hh"
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

using fake_io = smbx::testing::fake_async_file_io;

class worker_path : public smb2_fixture {
protected:
    uint64_t next_message_id = 0;
    fake_io io; // the worker's asynchronous file I/O, completed by each test

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
    // A suspended request's deferred I/O started on `io`; the test completes it.
    void start(const smb2::processing_result& r, bool& done) {
        ASSERT_TRUE(r.suspended);
        smb2::start_suspended(*r.suspended, io, [&done] { done = true; });
    }
    // Runs a planned message on the "worker": its deferred I/O, if any, done for real.
    smb2::processing_result run_on_worker(const bytes& msg) {
        auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), plan(msg));
        if (!r.suspended) {
            return r;
        }
        bool done = false;
        start(r, done);
        io.run_all();
        EXPECT_TRUE(done);
        return smb2::finish_suspended(*conn, *r.suspended);
    }
    std::string file_content(const char* name) {
        std::ifstream in(share.root() + "/" + name);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
    bytes write_message(file_id f, std::string_view data, uint32_t flags = 0, uint64_t offset = 0) {
        bytes body = write_body(f, offset, data);
        body[44] = uint8_t(flags); // Flags (2.2.21), after the fixed fields before it
        return message(smb2::command::write, body);
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

TEST_F(worker_path, a_read_the_page_cache_cannot_serve_is_read_asynchronously_on_the_worker) {
    file_id id;
    std::string data = fill("slow.bin", id, 16384);
    auto msg = message(smb2::command::read, read_body(id, 4096, 8192));
    auto p = plan(msg);
    ASSERT_TRUE(p.on_worker);
    // As if the file system had refused RWF_NOWAIT since the plan: the worker may not
    // read it at once, so the request stops after its checks, unanswered, its read
    // deferred and not yet issued.
    auto f = as_file_open(conn->find_open(*sess, id));
    ASSERT_TRUE(f);
    f->set_worker_reads(file_open::nowait_read::unsupported);
    uint64_t before = file_reads();
    auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), p);
    ASSERT_TRUE(r.suspended);
    EXPECT_TRUE(r.replies.empty());
    EXPECT_EQ(file_reads(), before);

    bool done = false;
    start(r, done);
    ASSERT_EQ(io.queued.size(), 1u);
    EXPECT_EQ(io.queued.front().what, fake_io::kind::read);
    EXPECT_EQ(io.queued.front().fd, f->fd());
    EXPECT_EQ(io.queued.front().offset, 4096u);
    EXPECT_EQ(io.queued.front().length, 8192u);
    EXPECT_FALSE(done) << "nothing completes before the I/O does";
    io.run_all();
    EXPECT_TRUE(done);
    auto finished = smb2::finish_suspended(*conn, *r.suspended);
    EXPECT_EQ(status_of(finished), status::success);
    EXPECT_EQ(payload_of(finished), data.substr(4096, 8192));
    EXPECT_EQ(file_reads(), before + 1) << "read once, on the worker's queue";
    EXPECT_TRUE(plan(message(smb2::command::read, read_body(id, 0, 1))).on_worker)
        << "such a file's READs stay on the worker, deferred";
}

TEST_F(worker_path, a_device_error_in_the_completion_becomes_the_reads_status) {
    file_id id;
    fill("eio.bin", id, 8192);
    as_file_open(conn->find_open(*sess, id))->set_worker_reads(file_open::nowait_read::unsupported);
    auto msg = message(smb2::command::read, read_body(id, 0, 4096));
    auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), plan(msg));
    bool done = false;
    start(r, done);
    io.fail_next(EIO);
    ASSERT_TRUE(done);
    auto finished = smb2::finish_suspended(*conn, *r.suspended);
    EXPECT_EQ(status_of(finished), status::io_device_error);
    EXPECT_TRUE(payload_of(finished).empty());
}

TEST_F(worker_path, a_direct_io_read_is_deferred_and_retried_buffered_when_unaligned) {
    file_id id;
    std::string data = fill("direct.bin", id, 8192);
    auto f = as_file_open(conn->find_open(*sess, id));
    f->set_direct_io(true);
    auto msg = message(smb2::command::read, read_body(id, 100, 1000));
    auto p = plan(msg);
    ASSERT_TRUE(p.on_worker) << "direct io: on the worker, never from the page cache";
    auto unaligned = counters::total(&counters::data_path::direct_io_unaligned);
    auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), p);
    bool done = false;
    start(r, done);
    io.fail_next(EINVAL); // what O_DIRECT answers to an unaligned read
    EXPECT_FALSE(done);
    ASSERT_EQ(io.queued.size(), 1u);
    EXPECT_EQ(io.queued.front().fd, f->buffered_fd()) << "again, through the page cache";
    io.run_all();
    ASSERT_TRUE(done);
    auto finished = smb2::finish_suspended(*conn, *r.suspended);
    EXPECT_EQ(status_of(finished), status::success);
    EXPECT_EQ(payload_of(finished), data.substr(100, 1000));
    EXPECT_EQ(counters::total(&counters::data_path::direct_io_unaligned), unaligned + 1);
}

TEST_F(worker_path, a_suspended_read_whose_session_ended_meanwhile_is_not_answered) {
    file_id id;
    fill("gone.bin", id, 4096);
    as_file_open(conn->find_open(*sess, id))->set_worker_reads(file_open::nowait_read::unsupported);
    auto msg = message(smb2::command::read, read_body(id, 0, 4096));
    auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), plan(msg));
    bool done = false;
    start(r, done);
    conn->remove_session(7); // a LOGOFF ran while the read was in the kernel
    io.run_all();
    ASSERT_TRUE(done);
    auto finished = smb2::finish_suspended(*conn, *r.suspended);
    EXPECT_TRUE(finished.replies.empty());
    EXPECT_FALSE(finished.disconnect);
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

TEST_F(worker_path, a_write_to_a_file_in_memory_is_written_at_once_on_the_worker) {
    auto id = open("w.bin", rw, 2);
    // The same file as if it lived in tmpfs (create_file decides that with fstatfs).
    auto f = as_file_open(conn->find_open(*sess, id));
    ASSERT_TRUE(f);
    f->set_worker_reads(file_open::nowait_read::memory_backed);
    auto msg = write_message(id, "data");
    auto p = plan(msg);
    EXPECT_TRUE(p.on_worker);
    ASSERT_TRUE(p.read_write);
    EXPECT_EQ(p.read_write->length, 4u);
    EXPECT_EQ(p.read_write->data_offset, smb2::header_size + 48);
    auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), p);
    EXPECT_FALSE(r.suspended);
    EXPECT_TRUE(io.queued.empty());
    EXPECT_EQ(status_of(r), status::success);
    EXPECT_EQ(file_content("w.bin"), "data");
}

TEST_F(worker_path, a_write_to_a_disk_file_is_written_asynchronously_on_the_worker) {
    auto id = open("d.bin", rw, 2);
    // The fixture's share is on a disk file system: the write may wait for the device.
    auto msg = write_message(id, "on disk", 0, 3);
    auto p = plan(msg);
    ASSERT_TRUE(p.on_worker);
    auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), p);
    ASSERT_TRUE(r.suspended);
    EXPECT_TRUE(r.replies.empty());
    EXPECT_EQ(file_content("d.bin"), "") << "nothing written before the I/O runs";
    bool done = false;
    start(r, done);
    ASSERT_EQ(io.queued.size(), 1u);
    EXPECT_EQ(io.queued.front().what, fake_io::kind::write);
    EXPECT_EQ(io.queued.front().offset, 3u);
    io.run_all();
    ASSERT_TRUE(done);
    EXPECT_EQ(status_of(smb2::finish_suspended(*conn, *r.suspended)), status::success);
    EXPECT_EQ(file_content("d.bin"), std::string("\0\0\0on disk", 10));
    EXPECT_EQ(io.history, std::vector<fake_io::kind>{fake_io::kind::write});
}

TEST_F(worker_path, a_write_through_is_flushed_before_it_is_answered) {
    auto id = open("wt.bin", rw, 2);
    auto f = as_file_open(conn->find_open(*sess, id));
    f->set_worker_reads(file_open::nowait_read::memory_backed); // even in memory
    auto msg = write_message(id, "durable", 1 /*WRITEFLAG_WRITE_THROUGH*/);
    auto p = plan(msg);
    ASSERT_TRUE(p.on_worker);
    EXPECT_EQ(p.read_write->flags, 1u);
    auto r = run_on_worker(msg);
    EXPECT_EQ(status_of(r), status::success);
    EXPECT_EQ(io.history,
              (std::vector<fake_io::kind>{fake_io::kind::write, fake_io::kind::sync_data}));
    EXPECT_EQ(file_content("wt.bin"), "durable");
}

TEST_F(worker_path, write_errors_in_the_completion_become_the_writes_status) {
    auto id = open("full.bin", rw, 2);
    struct {
        int err;
        bool in_flush;
        uint32_t status;
    } cases[] = {
        {ENOSPC, false, status::disk_full},
        {EDQUOT, false, status::disk_full},
        {EIO, false, status::io_device_error},
        {EIO, true, status::io_device_error}, // the write-through's flush failed
    };
    for (auto& c : cases) {
        io.history.clear();
        auto msg = write_message(id, "x", c.in_flush ? 1 : 0);
        auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), plan(msg));
        bool done = false;
        start(r, done);
        if (c.in_flush) {
            io.complete_next(); // the write itself succeeds
        }
        io.fail_next(c.err);
        ASSERT_TRUE(done);
        EXPECT_TRUE(io.queued.empty()) << "no flush after a failed write";
        EXPECT_EQ(status_of(smb2::finish_suspended(*conn, *r.suspended)), c.status)
            << "errno " << c.err << (c.in_flush ? " in the flush" : "");
    }
}

// FLUSH (3.3.5.11) waits for the device: on the worker it is an fsync on the worker's
// asynchronous file I/O, answered in the completion.
TEST_F(worker_path, a_flush_is_synced_asynchronously_on_the_worker) {
    auto id = open("fl.bin", rw, 2);
    bytes body = close_body(id); // FLUSH (2.2.17) has CLOSE's layout
    auto msg = message(smb2::command::flush, body);
    auto p = plan(msg);
    ASSERT_TRUE(p.on_worker);
    auto r = smb2::process_planned(*conn, pool_buffer(bytes(msg)), p);
    ASSERT_TRUE(r.suspended) << "not answered before the sync ran";
    EXPECT_TRUE(r.replies.empty());
    bool done = false;
    start(r, done);
    ASSERT_EQ(io.queued.size(), 1u);
    EXPECT_EQ(io.queued.front().what, fake_io::kind::sync_file);
    EXPECT_EQ(io.queued.front().fd, as_file_open(conn->find_open(*sess, id))->fd());
    io.run_all();
    ASSERT_TRUE(done);
    EXPECT_EQ(status_of(smb2::finish_suspended(*conn, *r.suspended)), status::success);

    // The device's error is the FLUSH's status.
    auto again = message(smb2::command::flush, body);
    auto r2 = smb2::process_planned(*conn, pool_buffer(bytes(again)), plan(again));
    done = false;
    start(r2, done);
    io.fail_next(EIO);
    ASSERT_TRUE(done);
    EXPECT_EQ(status_of(smb2::finish_suspended(*conn, *r2.suspended)), status::io_device_error);
}

TEST_F(worker_path, a_flush_that_fails_its_checks_is_answered_on_the_worker_without_io) {
    auto ro = open("ro.bin", file_generic_read, 2);
    auto denied = message(smb2::command::flush, close_body(ro));
    auto r = smb2::process_planned(*conn, pool_buffer(bytes(denied)), plan(denied));
    EXPECT_FALSE(r.suspended);
    EXPECT_EQ(status_of(r), status::access_denied) << "3.3.5.11: the open may not write";
    auto closed = message(smb2::command::flush, close_body({1, 999}));
    auto r2 = smb2::process_planned(*conn, pool_buffer(bytes(closed)), plan(closed));
    EXPECT_FALSE(r2.suspended);
    EXPECT_EQ(status_of(r2), status::file_closed);
    EXPECT_TRUE(io.queued.empty());
    EXPECT_TRUE(io.history.empty());
}

TEST_F(worker_path, pipe_stream_and_rdma_channel_writes_stay_off_the_worker) {
    auto id = open("s.txt", rw, 2);
    auto s = open("s.txt:alt", rw, 2);
    EXPECT_FALSE(plan(write_message(s, "x")).on_worker) << "stream data lives in xattrs";
    // What fails without I/O is answered on the worker.
    EXPECT_TRUE(plan(write_message({1, 999}, "x")).on_worker);
    bytes body = write_body(id, 0, "");
    body[32] = 1; // Channel (2.2.21): SMB2_CHANNEL_RDMA_V1
    EXPECT_FALSE(plan(message(smb2::command::write, body)).on_worker);
}

} // namespace
} // namespace smbx::vfs
