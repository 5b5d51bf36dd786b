// What a polling worker may process itself (dispatch.hh can_process_on_worker): a
// single unencrypted ECHO, a READ whose data it could fetch from the page cache
// without waiting (the READ handler then uses that data, the same bytes, not a second
// read), or a WRITE to a file in memory. Everything else goes to the request threads.
#include "dataplane/smb2/dispatch.hh"

#include <fstream>
#include <iterator>

#include "../vfs/smb2_harness.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/open_lookup.hh"

namespace smbx::vfs {
namespace {

using namespace smbx::vfs::testing;

constexpr uint32_t rw = file_generic_read | file_generic_write;

class worker_path : public smb2_fixture {
protected:
    static bytes message(smb2::command cmd, const bytes& body, uint32_t next_command = 0) {
        smb2::header h;
        h.cmd = cmd;
        h.session_id = 7;
        h.tree_id = 3;
        h.next_command = next_command;
        byte_writer w;
        smb2::write_header(w, h);
        w.put(body);
        return w.take();
    }
    // Runs `handler` on a whole message, as process_message would after its checks.
    smb2::response run(void (*handler)(smb2::request&, smb2::response&), const bytes& msg) {
        smb2::header h;
        EXPECT_TRUE(smb2::parse_header(msg, h));
        smb2::request req{*conn, h, msg, sess, tree, &chain};
        smb2::response resp;
        handler(req, resp);
        return resp;
    }
};

TEST_F(worker_path, cached_read_is_fetched_once_and_answered_from_that_buffer) {
    auto id = open("cached.bin", rw, 2 /*CREATE*/);
    std::string data(100000, 'x');
    for (size_t i = 0; i < data.size(); ++i) {
        data[i] = char('a' + i % 26);
    }
    ASSERT_EQ(call(smb2::handle_write, write_body(id, 0, data)).status, status::success);

    auto msg = message(smb2::command::read, read_body(id, 1000, 65536));
    ASSERT_TRUE(smb2::can_process_on_worker(*conn, msg));
    ASSERT_EQ(conn->prefetched.length, 65536u);
    ASSERT_EQ(conn->prefetched.data.size(), 65536u);
    const uint8_t* fetched = conn->prefetched.data.data();

    smb2::response resp = run(smb2::handle_read, msg);
    ASSERT_EQ(resp.status, status::success);
    EXPECT_EQ(resp.payload.data(), fetched) << "the prefetched buffer itself is the payload";
    EXPECT_EQ(std::string(resp.payload.data(), resp.payload.data() + resp.payload.size()),
              data.substr(1000, 65536));
    EXPECT_EQ(conn->prefetched.fd, -1) << "consumed";

    // Near end of file: a short read is still complete (end of file, not a cache miss).
    auto tail = message(smb2::command::read, read_body(id, 99990, 4096));
    ASSERT_TRUE(smb2::can_process_on_worker(*conn, tail));
    EXPECT_EQ(conn->prefetched.data.size(), 10u);
}

TEST_F(worker_path, only_single_plain_echo_and_read_stay_on_the_worker) {
    auto id = open("f.txt", rw, 2);
    EXPECT_TRUE(smb2::can_process_on_worker(*conn, message(smb2::command::echo, {4, 0, 0, 0})));
    EXPECT_FALSE(smb2::can_process_on_worker(*conn, message(smb2::command::close, close_body(id))));
    EXPECT_FALSE(smb2::can_process_on_worker(
        *conn, message(smb2::command::create, create_body("g.txt", rw, 2))));
    EXPECT_FALSE(smb2::can_process_on_worker(
        *conn, message(smb2::command::read, read_body(id, 0, 10), 8 * 30)))
        << "a compound goes to the request threads";
    // A READ that fails without I/O (unknown FileId) is answered on the worker.
    EXPECT_TRUE(smb2::can_process_on_worker(
        *conn, message(smb2::command::read, read_body({1, 999}, 0, 10))));
    EXPECT_EQ(conn->prefetched.fd, -1);
    // Stream data lives in extended attributes: blocking calls, request threads.
    auto s = open("f.txt:alt", rw, 2);
    EXPECT_FALSE(
        smb2::can_process_on_worker(*conn, message(smb2::command::read, read_body(s, 0, 1))));
    conn->negotiated = false;
    EXPECT_FALSE(smb2::can_process_on_worker(*conn, message(smb2::command::echo, {4, 0, 0, 0})))
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
    EXPECT_FALSE(smb2::can_process_on_worker(*conn, write(id)));
    // The same file as if it lived in tmpfs (create_file decides that with fstatfs).
    auto f = as_file_open(conn->find_open(*sess, id));
    ASSERT_TRUE(f);
    f->set_worker_reads(file_open::nowait_read::memory_backed);
    EXPECT_TRUE(smb2::can_process_on_worker(*conn, write(id)));
    EXPECT_FALSE(smb2::can_process_on_worker(*conn, write(id, 1 /*WRITE_THROUGH*/)))
        << "write-through waits for the device";
    // What fails without I/O is answered on the worker.
    EXPECT_TRUE(smb2::can_process_on_worker(*conn, write({1, 999})));
    // The handler then writes as on a request thread.
    EXPECT_EQ(run(smb2::handle_write, write(id)).status, status::success);
    std::ifstream in(share.root() + "/w.bin");
    std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(got, "data");
}

} // namespace
} // namespace smbx::vfs
