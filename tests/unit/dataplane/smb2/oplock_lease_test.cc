// Oplocks and leases through the SMB2 engine, with the arbiter itself behind the
// engine's lease_arbitration (control/leases, in process instead of over the ring):
// two clients on one share; a grant in the CREATE response, a break notification on
// the holder's connection, the second CREATE answered STATUS_PENDING and finished once
// the holder acknowledged; a lease's break and acknowledgement; an overwrite that waits
// for the break before it truncates; a cancelled waiting CREATE closing its open.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "../vfs/smb2_harness.hh"
#include "control/leases/lease_service.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/smb2/create_contexts.hh"
#include "dataplane/smb2/dispatch.hh"
#include "dataplane/smb2/lease_router.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/open_lookup.hh"

namespace smbx::smb2 {
namespace {

using vfs::testing::smb2_fixture;

// The arbiter of smbx-control, asked directly: its notices (breaks, releases) go to the
// router as the control ring's poller would hand them over.
class in_process_arbiter final : public lease_arbitration {
public:
    leases::lease_service service;
    lease_router* router = nullptr;

    std::optional<ipc::lease_open_reply> lease_open(const ipc::lease_open_request& r) override {
        return ask<ipc::lease_open_reply>(r);
    }
    std::optional<ipc::lease_ack_reply> lease_ack(const ipc::lease_ack_request& r) override {
        return ask<ipc::lease_ack_reply>(r);
    }
    std::optional<ipc::lease_handles_reply>
    lease_handles(const ipc::lease_handles_request& r) override {
        return ask<ipc::lease_handles_reply>(r);
    }
    void lease_close(uint64_t open) override { ask<ipc::lease_open_reply>(ipc::lease_close{open}); }
    void lease_write(uint64_t open, const std::string& file) override {
        ask<ipc::lease_open_reply>(ipc::lease_write{open, file});
    }

private:
    template <typename Reply, typename Request> std::optional<Reply> ask(const Request& r) {
        constexpr uint64_t id = 42;
        std::optional<Reply> reply;
        for (auto& m : service.handle(ipc::encode_fields(id, r), leases::clock::now())) {
            auto h = ipc::decode_header(m);
            if (h && h->id == id) {
                reply = ipc::decode_fields<Reply>(m);
            } else {
                router->on_notice(m);
            }
        }
        return reply;
    }
};

constexpr uint32_t rw = vfs::file_generic_read | vfs::file_generic_write;
constexpr uint32_t open_if = 3, overwrite_if = 5, open_existing = 1;
constexpr uint8_t batch = 0x09, level_ii = 0x01;
constexpr uint32_t pending = 0x00000103;

// One client: its connection, session 7 and tree 3 on the share, and the tasks its
// connection's strand was given (breaks, retried CREATEs), run when the test says.
struct client {
    std::unique_ptr<connection> conn;
    std::vector<connection::strand_task> tasks;
    uint64_t next_mid = 0;

    // Runs what was posted to the strand; returns what it queued to send.
    std::vector<bytes> run_strand() {
        auto t = std::exchange(tasks, {});
        for (auto& f : t) {
            f(*conn);
        }
        return conn->take_outbox();
    }
};

class oplocks_and_leases : public smb2_fixture {
protected:
    in_process_arbiter arbiter;
    std::shared_ptr<lease_router> router = std::make_shared<lease_router>(arbiter);
    dataplane_settings settings;
    client a, b;

    void SetUp() override {
        smb2_fixture::SetUp();
        arbiter.router = router.get();
        join(a, 1);
        join(b, 2);
    }

    void join(client& c, uint8_t guid) {
        c.conn = std::make_unique<connection>(settings, conn->control, "peer");
        c.conn->negotiated = true;
        c.conn->dialect = dialect_311;
        c.conn->client_guid.fill(guid);
        c.conn->leases = router;
        c.conn->server_capabilities = cap_leasing | cap_large_mtu;
        c.conn->credits.grant(1024);
        c.conn->run_on_strand = [&c](connection::strand_task t) {
            c.tasks.push_back(std::move(t));
        };
        auto s = std::make_shared<session>();
        s->id = 7;
        s->st = session::state::valid;
        auto t = std::make_shared<tree_connect>();
        t->id = 3;
        t->share.path = share.root();
        s->add_tree(t);
        c.conn->add_channel(std::move(s));
    }

    static bytes with_oplock(bytes create, uint8_t level) {
        create[3] = level; // RequestedOplockLevel (2.2.13)
        return create;
    }

    // One request through the engine; its reply (one message: no compounds here).
    bytes send(client& c, command cmd, const bytes& body) {
        header h;
        h.cmd = cmd;
        h.session_id = 7;
        h.tree_id = 3;
        h.message_id = c.next_mid++;
        h.credit_charge = 1;
        h.credits = 1;
        byte_writer w;
        write_header(w, h);
        w.put(body);
        auto r = smb2::process_message(*c.conn, pool_buffer(w.take()));
        EXPECT_EQ(r.replies.size(), 1u);
        return r.replies.empty() ? bytes{} : std::move(r.replies[0].head);
    }

    static header header_of(const bytes& m) {
        header h;
        EXPECT_TRUE(parse_header(m, h));
        return h;
    }
    static byte_reader body_of(const bytes& m) {
        byte_reader r(m);
        r.seek(header_size);
        return r;
    }
    static uint8_t oplock_level_of(const bytes& create_response) {
        return create_response.at(header_size + 2);
    }
    static file_id file_id_of(const bytes& create_response) {
        auto r = body_of(create_response);
        r.skip(64);
        file_id id;
        id.persistent = r.u64();
        id.volatile_id = r.u64();
        return id;
    }
    // The RqLs response context of a CREATE response.
    static std::optional<lease_context> lease_of(const bytes& create_response) {
        auto r = body_of(create_response);
        r.skip(80);
        uint32_t offset = r.u32(), length = r.u32();
        byte_reader all(create_response);
        auto ctxs = parse_create_contexts(all.at(offset, length));
        if (!ctxs) {
            return std::nullopt;
        }
        for (auto& c : *ctxs) {
            if (c.is("RqLs")) {
                return parse_lease_context(c.data);
            }
        }
        return std::nullopt;
    }
    static bytes rqls_v2(uint8_t key_byte, uint32_t state) {
        byte_writer w;
        for (int i = 0; i < 16; ++i) {
            w.u8(key_byte);
        }
        w.u32(state);
        w.u32(0);    // Flags
        w.u64(0);    // LeaseDuration
        w.zeros(16); // ParentLeaseKey
        w.u16(0);    // Epoch
        w.u16(0);
        return smb2_fixture::context("RqLs", w.take());
    }
    // 2.2.24.1 has the notification's layout.
    static bytes oplock_ack(file_id id, uint8_t level) { return write_oplock_break(level, id); }
    static bytes lease_ack(uint8_t key_byte, uint32_t state) {
        byte_writer w;
        w.u16(36);
        w.u16(0);
        w.u32(0);
        for (int i = 0; i < 16; ++i) {
            w.u8(key_byte);
        }
        w.u32(state);
        w.u64(0);
        return w.take();
    }
    std::string content(const char* name) {
        std::ifstream in(share.root() + "/" + name);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
};

TEST_F(oplocks_and_leases,
       a_batch_oplock_breaks_to_level_ii_and_the_second_open_waits_for_the_ack) {
    auto ra = send(a, command::create, with_oplock(create_body("f.txt", rw, open_if), batch));
    ASSERT_EQ(header_of(ra).status, status::success);
    EXPECT_EQ(oplock_level_of(ra), batch);
    file_id fa = file_id_of(ra);

    auto rb = send(b, command::create, create_body("f.txt", vfs::file_generic_read, open_existing));
    EXPECT_EQ(header_of(rb).status, pending) << "the open waits for the holder's acknowledgement";
    EXPECT_TRUE(header_of(rb).is_async());
    EXPECT_TRUE(b.tasks.empty());

    auto sent_before = counters::total(&counters::data_path::oplock_breaks_sent);
    auto acks_before = counters::total(&counters::data_path::break_acknowledgements);
    auto breaks = a.run_strand();
    ASSERT_EQ(breaks.size(), 1u);
    EXPECT_EQ(counters::total(&counters::data_path::oplock_breaks_sent), sent_before + 1);
    header bh = header_of(breaks[0]);
    EXPECT_EQ(bh.cmd, command::oplock_break);
    EXPECT_EQ(bh.message_id, ~0ULL);
    EXPECT_EQ(bh.session_id, 0u);
    EXPECT_FALSE(bh.is_signed());
    auto bb = body_of(breaks[0]);
    EXPECT_EQ(bb.u16(), 24);
    EXPECT_EQ(bb.u8(), level_ii);
    bb.skip(5);
    EXPECT_EQ(bb.u64(), fa.persistent);
    EXPECT_EQ(bb.u64(), fa.volatile_id);

    auto open_a = a.conn->find_open(*a.conn->find_session(7), fa);
    ASSERT_TRUE(open_a);
    EXPECT_EQ(caching_text(*open_a), "level2") << "as the break sent it (smbxctl status)";
    auto ack = send(a, command::oplock_break, oplock_ack(fa, level_ii));
    ASSERT_EQ(header_of(ack).status, status::success);
    EXPECT_EQ(ack.at(header_size + 2), level_ii);
    EXPECT_EQ(counters::total(&counters::data_path::break_acknowledgements), acks_before + 1);

    auto finals = b.run_strand();
    ASSERT_EQ(finals.size(), 1u);
    header fh = header_of(finals[0]);
    EXPECT_EQ(fh.status, status::success);
    EXPECT_EQ(fh.cmd, command::create);
    EXPECT_EQ(fh.async_id, header_of(rb).async_id);
    EXPECT_EQ(oplock_level_of(finals[0]), 0);
    EXPECT_EQ(router->opens().size(), 2u);

    // A second acknowledgement finds no break under way (3.3.5.22.1).
    auto again = send(a, command::oplock_break, oplock_ack(fa, 0));
    EXPECT_EQ(header_of(again).status, status::invalid_device_state);
}

TEST_F(oplocks_and_leases, a_v2_lease_breaks_from_rwh_to_rh_and_is_acknowledged) {
    auto ra = send(a, command::create,
                   with_oplock(create_body("l.txt", rw, open_if, 0, 7, 0, rqls_v2(0xAA, 7)), 0xFF));
    ASSERT_EQ(header_of(ra).status, status::success);
    EXPECT_EQ(oplock_level_of(ra), 0xFF);
    auto granted = lease_of(ra);
    ASSERT_TRUE(granted);
    EXPECT_EQ(granted->version, 2);
    EXPECT_EQ(granted->state, 7u);
    EXPECT_EQ(granted->key[0], 0xAA);
    auto open_a = a.conn->find_open(*a.conn->find_session(7), file_id_of(ra));
    ASSERT_TRUE(open_a);
    EXPECT_EQ(caching_text(*open_a), "lease RHW");

    auto rb = send(b, command::create, create_body("l.txt", vfs::file_generic_read, open_existing));
    EXPECT_EQ(header_of(rb).status, pending);
    auto breaks = a.run_strand();
    ASSERT_EQ(breaks.size(), 1u);
    auto bb = body_of(breaks[0]);
    EXPECT_EQ(bb.u16(), 44);
    bb.u16(); // NewEpoch
    EXPECT_EQ(bb.u32(), lease_break_flag_ack_required);
    bb.skip(16);
    EXPECT_EQ(bb.u32(), 7u); // CurrentLeaseState
    EXPECT_EQ(bb.u32(), 3u); // NewLeaseState: RH

    // More than the break left is refused; what it left is accepted.
    auto wrong = send(a, command::oplock_break, lease_ack(0xAA, 7));
    EXPECT_EQ(header_of(wrong).status, status::request_not_accepted);
    auto ack = send(a, command::oplock_break, lease_ack(0xAA, 3));
    ASSERT_EQ(header_of(ack).status, status::success);
    auto ab = body_of(ack);
    EXPECT_EQ(ab.u16(), 36);
    ab.skip(22);
    EXPECT_EQ(ab.u32(), 3u);

    auto finals = b.run_strand();
    ASSERT_EQ(finals.size(), 1u);
    EXPECT_EQ(header_of(finals[0]).status, status::success);
    // A key the server never granted: STATUS_OBJECT_NAME_NOT_FOUND (3.3.5.22.2).
    EXPECT_EQ(header_of(send(b, command::oplock_break, lease_ack(0xBB, 0))).status,
              status::object_name_not_found);
}

TEST_F(oplocks_and_leases, an_overwrite_truncates_only_after_the_holder_acknowledged) {
    auto ra = send(a, command::create, with_oplock(create_body("o.txt", rw, open_if), batch));
    ASSERT_EQ(oplock_level_of(ra), batch);
    file_id fa = file_id_of(ra);
    ASSERT_EQ(header_of(send(a, command::write, write_body(fa, 0, "cached"))).status,
              status::success);

    auto rb = send(b, command::create, create_body("o.txt", rw, overwrite_if));
    EXPECT_EQ(header_of(rb).status, pending);
    EXPECT_EQ(content("o.txt"), "cached") << "not truncated before the holder flushed";
    ASSERT_EQ(a.run_strand().size(), 1u);
    EXPECT_EQ(header_of(send(a, command::oplock_break, oplock_ack(fa, 0))).status, status::success);
    auto finals = b.run_strand();
    ASSERT_EQ(finals.size(), 1u);
    EXPECT_EQ(header_of(finals[0]).status, status::success);
    EXPECT_EQ(content("o.txt"), "");
}

TEST_F(oplocks_and_leases, a_cancelled_waiting_create_closes_its_open) {
    auto ra = send(a, command::create, with_oplock(create_body("c.txt", rw, open_if), batch));
    file_id fa = file_id_of(ra);
    auto rb = send(b, command::create, create_body("c.txt", vfs::file_generic_read, open_existing));
    ASSERT_EQ(header_of(rb).status, pending);
    EXPECT_EQ(router->opens().size(), 2u);

    header ch;
    ch.cmd = command::cancel;
    ch.flags = flag_async_command;
    ch.async_id = header_of(rb).async_id;
    ch.session_id = 7;
    byte_writer w;
    write_header(w, ch);
    w.u16(4);
    w.u16(0);
    auto r = smb2::process_message(*b.conn, pool_buffer(w.take()));
    ASSERT_EQ(r.replies.size(), 1u) << "the CREATE's final response, CANCEL has none";
    EXPECT_EQ(header_of(r.replies[0].head).status, status::cancelled);
    EXPECT_EQ(router->opens().size(), 1u) << "the waiting open was closed";

    // The holder's acknowledgement then wakes nobody.
    a.run_strand();
    EXPECT_EQ(header_of(send(a, command::oplock_break, oplock_ack(fa, level_ii))).status,
              status::success);
    EXPECT_TRUE(b.run_strand().empty());
}

TEST_F(oplocks_and_leases, a_malformed_lease_context_fails_the_create) {
    byte_writer w;
    w.zeros(20);
    auto r = send(
        a, command::create,
        with_oplock(create_body("m.txt", rw, open_if, 0, 7, 0, context("RqLs", w.take())), 0xFF));
    EXPECT_EQ(header_of(r).status, status::invalid_parameter);
}

TEST_F(oplocks_and_leases, without_an_arbiter_nothing_is_granted_and_no_ack_is_taken) {
    auto r = call(handle_create, with_oplock(create_body("n.txt", rw, open_if), batch));
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.body.at(2), 0) << "the harness's connection has no lease router";
    EXPECT_EQ(call(handle_oplock_break, oplock_ack(id_of(r), 0)).status,
              status::invalid_device_state);
}

} // namespace
} // namespace smbx::smb2

namespace smbx::smb2 {
namespace {

TEST_F(oplocks_and_leases, a_sharing_violation_breaks_a_batch_oplock_and_the_create_runs_again) {
    // Share nothing: the second open is refused by the share mode.
    auto ra = send(a, command::create, with_oplock(create_body("s.txt", rw, open_if, 0, 0), batch));
    ASSERT_EQ(oplock_level_of(ra), batch);
    file_id fa = file_id_of(ra);
    auto rb = send(b, command::create, create_body("s.txt", vfs::file_generic_read, open_existing));
    EXPECT_EQ(header_of(rb).status, pending) << "the holder may close its cached handle";
    auto breaks = a.run_strand();
    ASSERT_EQ(breaks.size(), 1u);
    EXPECT_EQ(breaks[0].at(header_size + 2), level_ii) << "batch loses handle caching";

    // The holder closes instead of acknowledging: the CREATE runs again and opens.
    ASSERT_EQ(header_of(send(a, command::close, close_body(fa))).status, status::success);
    auto finals = b.run_strand();
    ASSERT_EQ(finals.size(), 1u);
    EXPECT_EQ(header_of(finals[0]).status, status::success);
    EXPECT_EQ(header_of(finals[0]).async_id, header_of(rb).async_id);
}

TEST_F(oplocks_and_leases, a_sharing_violation_stays_one_when_the_holder_keeps_its_open) {
    auto ra = send(a, command::create, with_oplock(create_body("k.txt", rw, open_if, 0, 0), batch));
    file_id fa = file_id_of(ra);
    auto rb = send(b, command::create, create_body("k.txt", vfs::file_generic_read, open_existing));
    ASSERT_EQ(header_of(rb).status, pending);
    ASSERT_EQ(a.run_strand().size(), 1u);
    ASSERT_EQ(header_of(send(a, command::oplock_break, oplock_ack(fa, level_ii))).status,
              status::success);
    auto finals = b.run_strand();
    ASSERT_EQ(finals.size(), 1u);
    EXPECT_EQ(header_of(finals[0]).status, status::sharing_violation);
    // Without handle caching left, a third open is refused at once.
    auto rc = send(b, command::create, create_body("k.txt", vfs::file_generic_read, open_existing));
    EXPECT_EQ(header_of(rc).status, status::sharing_violation);
}

TEST_F(oplocks_and_leases, a_write_breaks_level_ii_oplocks_to_none_its_own_too_then_sends_nothing) {
    auto ra = send(a, command::create, with_oplock(create_body("w.txt", rw, open_if), level_ii));
    ASSERT_EQ(oplock_level_of(ra), level_ii);
    auto rb = send(b, command::create, with_oplock(create_body("w.txt", rw, open_if), level_ii));
    ASSERT_EQ(header_of(rb).status, status::success);
    ASSERT_EQ(oplock_level_of(rb), level_ii) << "level II is shared without a break";
    EXPECT_TRUE(a.run_strand().empty());
    file_id fb = file_id_of(rb);

    ASSERT_EQ(header_of(send(b, command::write, write_body(fb, 0, "x"))).status, status::success);
    for (auto* c : {&a, &b}) {
        auto breaks = c->run_strand();
        ASSERT_EQ(breaks.size(), 1u);
        EXPECT_EQ(breaks[0].at(header_size + 2), 0) << "to none, no acknowledgement";
    }
    // Nobody caches the file now: a further WRITE tells the arbiter nothing.
    auto f = vfs::as_file_open(b.conn->find_open(*b.conn->find_session(7), fb));
    ASSERT_TRUE(f);
    EXPECT_EQ(f->state()->read_caching_opens.load(), 0u);
    ASSERT_EQ(header_of(send(b, command::write, write_body(fb, 1, "y"))).status, status::success);
    EXPECT_TRUE(a.run_strand().empty());
    EXPECT_TRUE(b.run_strand().empty());
}

TEST_F(oplocks_and_leases, a_share_with_oplocks_off_grants_nothing_and_asks_nothing) {
    a.conn->sessions.begin()->second.sess->find_tree(3)->share.oplocks = false;
    auto ra = send(a, command::create,
                   with_oplock(create_body("x.txt", rw, open_if, 0, 7, 0, rqls_v2(0xCC, 7)), 0xFF));
    ASSERT_EQ(header_of(ra).status, status::success);
    EXPECT_EQ(oplock_level_of(ra), 0);
    EXPECT_FALSE(lease_of(ra)) << "no lease context when none is granted";
    EXPECT_EQ(router->opens().size(), 0u) << "the arbiter was not asked";
}

TEST_F(oplocks_and_leases, a_create_inside_a_compound_breaks_and_goes_on_without_waiting) {
    auto ra = send(a, command::create, with_oplock(create_body("p.txt", rw, open_if), batch));
    ASSERT_EQ(oplock_level_of(ra), batch);
    // CREATE + CLOSE of the same file, related, on the holder's own connection (smbtorture
    // smb2.compound.compound-break): the chain holds the strand the break needs.
    header h;
    h.cmd = command::create;
    h.session_id = 7;
    h.tree_id = 3;
    h.message_id = a.next_mid++;
    h.credit_charge = 1;
    byte_writer w;
    write_header(w, h);
    w.put(create_body("p.txt", vfs::file_generic_read, open_existing));
    bytes first = w.take();
    first.resize((first.size() + 7) & ~size_t(7), 0);
    uint32_t next = uint32_t(first.size());
    std::memcpy(first.data() + 20, &next, 4);
    header c = h;
    c.cmd = command::close;
    c.message_id = a.next_mid++;
    c.flags = flag_related_operations;
    byte_writer cw;
    write_header(cw, c);
    cw.put(close_body({~0ULL, ~0ULL}));
    bytes chain = first;
    bytes second = cw.take();
    chain.insert(chain.end(), second.begin(), second.end());
    auto r = smb2::process_message(*a.conn, pool_buffer(std::move(chain)));
    ASSERT_EQ(r.replies.size(), 1u);
    EXPECT_EQ(header_of(r.replies[0].head).status, status::success) << "answered at once";
    auto breaks = a.run_strand();
    ASSERT_EQ(breaks.size(), 1u) << "the holder is still told";
    EXPECT_EQ(breaks[0].at(header_size + 2), level_ii);
}

} // namespace
} // namespace smbx::smb2
