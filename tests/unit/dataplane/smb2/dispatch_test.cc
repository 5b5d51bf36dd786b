// The SMB2 engine's request checks (MS-SMB2 3.3.5.2) driven with real messages.
#include "dataplane/smb2/dispatch.hh"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/ntstatus.hh"
#include "dataplane/control_client.hh"
#include "dataplane/smb2/crypto.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/file_open.hh"
#include "tests/unit/dataplane/smb2/engine_fixture.hh"

using namespace smbx;
using namespace smbx::smb2;
using namespace smbx::smb2::testing;

TEST_F(engine_fixture, negotiate_311_picks_gcm_gmac_and_hashes_preauth) {
    auto r = process_message(
        *conn, message(command::negotiate, 0,
                       negotiate_body({0x0202, 0x0300, 0x0311}, true, {1, 2}, {1, 2})));
    ASSERT_EQ(r.replies.size(), 1u);
    auto h = reply_header(r);
    EXPECT_EQ(h.status, status::success);
    EXPECT_TRUE(h.flags & flag_server_to_redir);
    byte_reader b(r.replies[0]);
    b.seek(header_size);
    EXPECT_EQ(b.u16(), 65);
    b.skip(2);
    EXPECT_EQ(b.u16(), dialect_311);
    EXPECT_EQ(b.u16(), 3); // preauth, encryption, signing contexts
    EXPECT_EQ(conn->cipher_id, cipher::aes128_gcm);
    EXPECT_EQ(conn->signing_alg, signing_algorithm::aes_gmac);
    EXPECT_NE(conn->preauth, crypto::preauth_hash{});
}

TEST_F(engine_fixture, negotiate_without_preauth_context_is_invalid) {
    auto body = negotiate_body({0x0311}, false);
    auto r = process_message(*conn, message(command::negotiate, 0, body));
    EXPECT_EQ(reply_header(r).status, status::invalid_parameter);
    EXPECT_FALSE(conn->negotiated);
}

TEST_F(engine_fixture, dialect_below_server_minimum_is_not_supported) {
    settings.min_dialect = dialect_300;
    auto r = process_message(
        *conn, message(command::negotiate, 0, negotiate_body({0x0202, 0x0210}, false)));
    EXPECT_EQ(reply_header(r).status, status::not_supported);
}

TEST_F(engine_fixture, second_negotiate_and_early_commands_disconnect) {
    auto early = process_message(*conn, message(command::echo, 0, {4, 0, 0, 0}));
    EXPECT_TRUE(early.disconnect);
    negotiate_311();
    auto again =
        process_message(*conn, message(command::negotiate, 1, negotiate_body({0x0311}, true)));
    EXPECT_TRUE(again.disconnect);
}

TEST_F(engine_fixture, reused_or_ungranted_message_id_disconnects) {
    negotiate_311();
    add_session(7, false);
    auto ok = process_message(*conn, message(command::echo, 1, {4, 0, 0, 0}, 7));
    EXPECT_EQ(reply_header(ok).status, status::success);
    auto reused = process_message(*conn, message(command::echo, 1, {4, 0, 0, 0}, 7));
    EXPECT_TRUE(reused.disconnect);
}

TEST_F(engine_fixture, far_message_id_disconnects) {
    negotiate_311();
    auto r = process_message(*conn, message(command::echo, 100000, {4, 0, 0, 0}));
    EXPECT_TRUE(r.disconnect);
}

TEST_F(engine_fixture, unrelated_compound_gets_chained_aligned_responses) {
    negotiate_311();
    add_session(7, false);
    auto a = message(command::echo, 1, {4, 0, 0, 0}, 7);
    auto b = message(command::echo, 2, {4, 0, 0, 0}, 7);
    a.resize(72, 0);
    uint32_t next = 72;
    std::memcpy(a.data() + 20, &next, 4);
    a.insert(a.end(), b.begin(), b.end());
    auto r = process_message(*conn, a);
    ASSERT_EQ(r.replies.size(), 1u);
    header h1;
    ASSERT_TRUE(parse_header(r.replies[0], h1));
    EXPECT_EQ(h1.next_command % 8, 0u);
    ASSERT_GT(h1.next_command, 0u);
    header h2;
    ASSERT_TRUE(parse_header(byte_span(r.replies[0]).subspan(h1.next_command), h2));
    EXPECT_EQ(h2.message_id, 2u);
    EXPECT_EQ(h2.next_command, 0u);
}

TEST_F(engine_fixture, misaligned_next_command_disconnects) {
    negotiate_311();
    auto a = message(command::echo, 1, {4, 0, 0, 0});
    uint32_t next = 66;
    std::memcpy(a.data() + 20, &next, 4);
    a.resize(140, 0);
    auto r = process_message(*conn, a);
    EXPECT_TRUE(r.disconnect);
}

TEST_F(engine_fixture, unknown_session_gets_user_session_deleted) {
    negotiate_311();
    auto r = process_message(*conn, message(command::tree_disconnect, 1, {4, 0, 0, 0}, 99, 1));
    EXPECT_EQ(reply_header(r).status, status::user_session_deleted);
}

TEST_F(engine_fixture, unknown_tree_gets_network_name_deleted) {
    negotiate_311();
    add_session(7, false);
    auto r = process_message(*conn, message(command::tree_disconnect, 1, {4, 0, 0, 0}, 7, 42));
    EXPECT_EQ(reply_header(r).status, status::network_name_deleted);
}

TEST_F(engine_fixture, signing_required_refuses_unsigned_and_accepts_signed) {
    negotiate_311();
    auto& s = add_session(7, true);
    auto unsigned_req =
        process_message(*conn, message(command::tree_disconnect, 1, {4, 0, 0, 0}, 7, 1));
    EXPECT_EQ(reply_header(unsigned_req).status, status::access_denied);

    auto bad = message(command::tree_disconnect, 2, {4, 0, 0, 0}, 7, 1, flag_signed);
    ASSERT_TRUE(crypto::sign_in_place(conn->signing_alg, s.signing_key, bad));
    bad[66] ^= 1; // the body changes after signing
    EXPECT_EQ(reply_header(process_message(*conn, bad)).status, status::access_denied);

    auto good = message(command::tree_disconnect, 3, {4, 0, 0, 0}, 7, 1, flag_signed);
    ASSERT_TRUE(crypto::sign_in_place(conn->signing_alg, s.signing_key, good));
    auto r = process_message(*conn, good);
    ASSERT_EQ(reply_header(r).status, status::success);
    EXPECT_TRUE(reply_header(r).flags & flag_signed);
    EXPECT_TRUE(crypto::verify_signature(conn->signing_alg, s.signing_key, r.replies[0]));
    EXPECT_EQ(s.find_tree(1), nullptr);
}

TEST_F(engine_fixture, unsigned_tree_connect_at_311_disconnects) {
    negotiate_311();
    add_session(7, false); // signing not required: still, 3.3.5.7 wants it signed
    byte_writer b;
    b.u16(9);
    b.u16(0);
    b.u16(header_size + 8);
    bytes path = utf16le("\\\\srv\\share");
    b.u16(uint16_t(path.size()));
    b.put(path);
    auto r = process_message(*conn, message(command::tree_connect, 1, b.take(), 7));
    EXPECT_TRUE(r.disconnect);
    EXPECT_TRUE(r.replies.empty());
}

TEST_F(engine_fixture, encrypted_session_refuses_clear_text_and_answers_encrypted) {
    negotiate_311();
    auto& s = add_session(7, false);
    s.encrypt_data = true;
    auto clear = process_message(*conn, message(command::echo, 1, {4, 0, 0, 0}, 7));
    // ECHO with a session id is checked like any other request of the session.
    EXPECT_EQ(reply_header(clear).status, status::access_denied);

    auto plain = message(command::tree_disconnect, 2, {4, 0, 0, 0}, 7, 1);
    // The client encrypts with its client-to-server key: our decryption key.
    auto enc = crypto::encrypt_message(conn->cipher_id, s.decryption_key, 7, plain);
    ASSERT_TRUE(enc.has_value());
    auto r = process_message(*conn, *enc);
    ASSERT_EQ(r.replies.size(), 1u);
    auto dec = crypto::decrypt_message(conn->cipher_id, s.encryption_key, r.replies[0]);
    ASSERT_TRUE(dec.has_value());
    header h;
    ASSERT_TRUE(parse_header(*dec, h));
    EXPECT_EQ(h.status, status::success);
    EXPECT_EQ(h.cmd, command::tree_disconnect);
}

TEST_F(engine_fixture, garbage_transform_disconnects) {
    negotiate_311();
    add_session(7, false);
    auto plain = message(command::echo, 1, {4, 0, 0, 0}, 7);
    auto enc = crypto::encrypt_message(conn->cipher_id, bytes(16, 0x55), 7, plain);
    ASSERT_TRUE(enc.has_value());
    EXPECT_TRUE(process_message(*conn, *enc).disconnect);
}

// Crypto failures are return values (a throw on the data path is std::terminate): a
// session whose keys cannot be used fails the request or closes the connection.
TEST_F(engine_fixture, unusable_signing_key_fails_the_request_and_closes_the_connection) {
    negotiate_311();
    auto& s = add_session(7, true);
    auto good_key = s.signing_key;
    s.signing_key = bytes(5, 0x11); // AES-GMAC takes 16 bytes: no signature can be computed
    auto req = message(command::tree_disconnect, 1, {4, 0, 0, 0}, 7, 1, flag_signed);
    ASSERT_TRUE(crypto::sign_in_place(conn->signing_alg, good_key, req));
    auto r = process_message(*conn, req);
    // 3.3.5.2.4: a signature that does not verify fails the request. Its error response
    // would be signed with the same key, which cannot be done: the connection closes.
    EXPECT_TRUE(r.disconnect);
    EXPECT_TRUE(r.replies.empty());
    EXPECT_NE(s.find_tree(1), nullptr) << "the request was not carried out";
}

TEST_F(engine_fixture, response_that_cannot_be_encrypted_closes_the_connection) {
    negotiate_311();
    auto& s = add_session(7, false);
    s.encrypt_data = true;
    s.encryption_key = bytes(5, 0x22); // AES-128-GCM takes 16 bytes
    auto plain = message(command::echo, 1, {4, 0, 0, 0}, 7);
    auto enc = crypto::encrypt_message(conn->cipher_id, s.decryption_key, 7, plain);
    ASSERT_TRUE(enc.has_value());
    auto r = process_message(*conn, *enc);
    EXPECT_TRUE(r.disconnect);
    EXPECT_TRUE(r.replies.empty()) << "nothing goes out in clear text";
}

TEST_F(engine_fixture, transform_with_an_unusable_decryption_key_closes_the_connection) {
    negotiate_311();
    auto& s = add_session(7, false);
    auto plain = message(command::echo, 1, {4, 0, 0, 0}, 7);
    auto enc = crypto::encrypt_message(conn->cipher_id, s.decryption_key, 7, plain);
    ASSERT_TRUE(enc.has_value());
    s.decryption_key = bytes(5, 0x33);
    // 3.3.5.2.1.1: a message that cannot be decrypted closes the connection.
    auto r = process_message(*conn, *enc);
    EXPECT_TRUE(r.disconnect);
    EXPECT_TRUE(r.replies.empty());
}

TEST_F(engine_fixture, unknown_command_is_invalid_parameter) {
    negotiate_311();
    auto m = message(command::echo, 1, {4, 0, 0, 0});
    m[12] = 0x40;
    auto r = process_message(*conn, m);
    EXPECT_EQ(reply_header(r).status, status::invalid_parameter);
}

TEST_F(engine_fixture, wrong_structure_size_is_invalid_parameter) {
    negotiate_311();
    auto r = process_message(*conn, message(command::echo, 1, {5, 0, 0, 0}));
    EXPECT_EQ(reply_header(r).status, status::invalid_parameter);
}

TEST_F(engine_fixture, large_read_needs_matching_credit_charge) {
    negotiate_311();
    add_session(7, false);
    byte_writer read;
    read.u16(49);
    read.u8(0x50);
    read.u8(0);
    read.u32(1024 * 1024); // Length: 1 MiB needs 16 credits
    read.u64(0);
    read.zeros(16 + 4 + 4 + 4 + 2 + 2 + 1);
    auto r = process_message(*conn, message(command::read, 1, read.buffer(), 7, 1, 0, 1));
    EXPECT_EQ(reply_header(r).status, status::invalid_parameter);
}

TEST_F(engine_fixture, credits_are_granted_up_to_the_request) {
    negotiate_311();
    add_session(7, false);
    auto r = process_message(*conn, message(command::echo, 1, {4, 0, 0, 0}, 7));
    EXPECT_EQ(reply_header(r).credits, 10);
    // Ids 0..20 granted (1 at start, 10 by NEGOTIATE, 10 by ECHO); ids 0 and 1 used.
    EXPECT_EQ(conn->credits.available(), 19u);
}

TEST_F(engine_fixture, smb1_negotiate_with_wildcard_gets_smb2_wildcard_response) {
    byte_writer w;
    w.u8(0xFF);
    w.put("SMB", 3);
    w.u8(0x72);
    w.zeros(27);
    w.u8(0);
    const char dialects[] = "\x02NT LM 0.12\0\x02SMB 2.002\0\x02SMB 2.???";
    w.u16(sizeof dialects);
    w.put(dialects, sizeof dialects);
    auto r = process_message(*conn, w.take());
    ASSERT_EQ(r.replies.size(), 1u);
    byte_reader b(r.replies[0]);
    b.seek(header_size + 4);
    EXPECT_EQ(b.u16(), dialect_wildcard);
    EXPECT_FALSE(conn->negotiated);
}

// MS-SMB2 3.3.5.2.7.2: a related request takes the previous request's session; the
// first request of a chain has none, so related there is INVALID_PARAMETER, and so is
// every related request after it. An unrelated request is judged on its own.
TEST_F(engine_fixture, related_first_request_is_invalid_parameter) {
    negotiate_311();
    add_session(7, false);
    auto r = process_message(
        *conn, chain({message(command::echo, 1, {4, 0, 0, 0}, 7, 0, flag_related_operations),
                      message(command::echo, 2, {4, 0, 0, 0}, 7, 0, flag_related_operations),
                      message(command::echo, 3, {4, 0, 0, 0}, 7)}));
    ASSERT_EQ(r.replies.size(), 1u);
    auto parts = split(r.replies[0]);
    ASSERT_EQ(parts.size(), 3u);
    EXPECT_EQ(parts[0].first.status, status::invalid_parameter);
    EXPECT_EQ(parts[1].first.status, status::invalid_parameter);
    EXPECT_EQ(parts[2].first.status, status::success);
}

TEST_F(engine_fixture, related_after_unknown_session_is_invalid_parameter) {
    negotiate_311();
    add_session(7, false);
    auto r = process_message(
        *conn,
        chain({message(command::tree_disconnect, 1, {4, 0, 0, 0}, ~0ULL, 1),
               message(command::tree_disconnect, 2, {4, 0, 0, 0}, 7, 1, flag_related_operations)}));
    auto parts = split(r.replies.at(0));
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].first.status, status::user_session_deleted);
    EXPECT_EQ(parts[1].first.status, status::invalid_parameter);
}

// Every response of a compound is padded to 8 bytes, the last one too (Windows, Samba).
TEST_F(engine_fixture, compound_responses_are_all_padded) {
    negotiate_311();
    add_session(7, false);
    auto r = process_message(*conn, chain({message(command::echo, 1, {4, 0, 0, 0}, 7),
                                           message(command::echo, 2, {4, 0, 0, 0}, 7)}));
    ASSERT_EQ(r.replies.size(), 1u);
    EXPECT_EQ(r.replies[0].size(), 2 * 72u);
    auto single = process_message(*conn, message(command::echo, 3, {4, 0, 0, 0}, 7));
    EXPECT_EQ(single.replies.at(0).size(), 68u);
}

namespace {

// An engine with a real directory open (FileId in `dir`) on tree 1 of session 7.
struct open_fixture : engine_fixture {
    std::filesystem::path root;
    file_id dir;

    void SetUp() override {
        engine_fixture::SetUp();
        char tmpl[] = "/tmp/smbx-dispatch-XXXXXX";
        ASSERT_TRUE(mkdtemp(tmpl));
        root = tmpl;
        negotiate_311();
    }
    void TearDown() override {
        engine_fixture::TearDown();
        std::filesystem::remove_all(root);
    }

    session& open_dir(bool signing_required) {
        auto& s = add_session(7, signing_required);
        s.find_tree(1)->share.path = root.string();
        int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        auto info = vfs::query_file_info(fd);
        EXPECT_TRUE(info.has_value());
        auto h = std::make_shared<vfs::file_open>(vfs::unique_fd(fd), *info, root.string(), false);
        h->session_id = 7;
        h->tree_id = 1;
        h->granted_access = vfs::file_all_access;
        dir = s.add_open(h);
        return s;
    }

    static bytes ioctl_body(uint32_t ctl, file_id id, uint32_t max_output) {
        byte_writer w;
        w.u16(57);
        w.u16(0);
        w.u32(ctl);
        w.u64(id.persistent);
        w.u64(id.volatile_id);
        w.u32(0); // InputOffset
        w.u32(0); // InputCount
        w.u32(0); // MaxInputResponse
        w.u32(0); // OutputOffset
        w.u32(0); // OutputCount
        w.u32(max_output);
        w.u32(1); // SMB2_0_IOCTL_IS_FSCTL
        w.u32(0);
        return w.take();
    }

    static bytes notify_body(file_id id, uint32_t filter = 0x3, uint32_t length = 4096) {
        byte_writer w;
        w.u16(32);
        w.u16(0);
        w.u32(length);
        w.u64(id.persistent);
        w.u64(id.volatile_id);
        w.u32(filter);
        w.u32(0);
        return w.take();
    }

    static bytes close_body(file_id id) {
        byte_writer w;
        w.u16(24);
        w.u16(0);
        w.u32(0);
        w.u64(id.persistent);
        w.u64(id.volatile_id);
        return w.take();
    }
};

constexpr file_id all_ones{~0ULL, ~0ULL};
constexpr uint32_t fsctl_get_compression = 0x0009003C;
constexpr uint32_t fsctl_create_or_get_object_id = 0x000900C0;
constexpr uint32_t fsctl_unknown = 0x00090FFF;

} // namespace

// The all-ones FileId names the chain's current open only in a related request; an
// open found by its FileId becomes the current one (3.3.5.2.7.2).
TEST_F(open_fixture, all_ones_file_id_only_in_related_requests) {
    open_dir(false);
    auto r = process_message(
        *conn,
        chain({message(command::ioctl, 1, ioctl_body(fsctl_get_compression, dir, 2), 7, 1),
               message(command::ioctl, 2, ioctl_body(fsctl_create_or_get_object_id, all_ones, 64),
                       7, 1, flag_related_operations),
               message(command::ioctl, 3, ioctl_body(fsctl_get_compression, all_ones, 2), 7, 1),
               message(command::ioctl, 4, ioctl_body(fsctl_get_compression, all_ones, 2), 7, 1,
                       flag_related_operations)}));
    auto parts = split(r.replies.at(0));
    ASSERT_EQ(parts.size(), 4u);
    EXPECT_EQ(parts[0].first.status, status::success);
    EXPECT_EQ(parts[1].first.status, status::success);
    byte_reader b(parts[1].second);
    b.seek(header_size + 36);
    EXPECT_EQ(b.u32(), 64u);                               // OutputCount: one FILE_OBJECTID_BUFFER
    EXPECT_EQ(parts[2].first.status, status::file_closed); // unrelated
    EXPECT_EQ(parts[3].first.status, status::file_closed); // the unrelated one reset the chain
}

TEST_F(open_fixture, ioctl_on_closed_handle_is_file_closed_before_unknown_fsctl) {
    open_dir(false);
    auto r = process_message(
        *conn, chain({message(command::ioctl, 1, ioctl_body(fsctl_unknown, {5, 5}, 0), 7, 1),
                      message(command::ioctl, 2, ioctl_body(fsctl_unknown, dir, 0), 7, 1)}));
    auto parts = split(r.replies.at(0));
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].first.status, status::file_closed);
    EXPECT_EQ(parts[1].first.status, status::invalid_device_request);
}

// Interim response (3.3.4.2): STATUS_PENDING, async header with a new AsyncId, credits
// granted; CANCEL by MessageId ends it with STATUS_CANCELLED and the same AsyncId.
TEST_F(open_fixture, notify_goes_async_and_sync_cancel_ends_it) {
    open_dir(false);
    auto r = process_message(*conn, message(command::change_notify, 1, notify_body(dir), 7, 1));
    ASSERT_EQ(r.replies.size(), 1u);
    auto h = reply_header(r);
    EXPECT_EQ(h.status, status::pending);
    EXPECT_TRUE(h.flags & flag_async_command);
    EXPECT_NE(h.async_id, 0u);
    EXPECT_EQ(h.message_id, 1u);
    EXPECT_EQ(h.credits, 10);
    EXPECT_EQ(conn->async_ops.size(), 1u);

    auto c = process_message(*conn, message(command::cancel, 1, {4, 0, 0, 0}, 7, 1));
    ASSERT_EQ(c.replies.size(), 1u);
    auto f = reply_header(c);
    EXPECT_EQ(f.status, status::cancelled);
    EXPECT_EQ(f.cmd, command::change_notify);
    EXPECT_EQ(f.message_id, 1u);
    EXPECT_EQ(f.async_id, h.async_id);
    EXPECT_TRUE(f.flags & flag_async_command);
    EXPECT_EQ(f.credits, 0);
    EXPECT_EQ(conn->async_ops.size(), 0u);
}

TEST_F(open_fixture, async_cancel_by_async_id) {
    open_dir(false);
    auto h = reply_header(
        process_message(*conn, message(command::change_notify, 1, notify_body(dir), 7, 1)));
    auto cancel = message(command::cancel, 7, {4, 0, 0, 0}, 7, 0, flag_async_command);
    std::memcpy(cancel.data() + 32, &h.async_id, 8); // AsyncId replaces ProcessId/TreeId
    auto c = process_message(*conn, cancel);
    ASSERT_EQ(c.replies.size(), 1u);
    EXPECT_EQ(reply_header(c).status, status::cancelled);
    EXPECT_EQ(reply_header(c).async_id, h.async_id);
}

// Only the last request of a chain may wait (smbtorture smb2.compound.interim2); a last
// one that waits gets its interim response on its own, after the others.
TEST_F(open_fixture, async_in_a_compound) {
    open_dir(false);
    auto r = process_message(
        *conn, chain({message(command::change_notify, 1, notify_body(dir), 7, 1),
                      message(command::ioctl, 2, ioctl_body(fsctl_get_compression, dir, 2), 7, 1),
                      message(command::change_notify, 3, notify_body(dir), 7, 1)}));
    ASSERT_EQ(r.replies.size(), 2u);
    auto first = split(r.replies[0]);
    ASSERT_EQ(first.size(), 2u);
    EXPECT_EQ(first[0].first.status, status::internal_error);
    EXPECT_EQ(first[1].first.status, status::success);
    EXPECT_EQ(reply_header(r, 1).status, status::pending);
    EXPECT_EQ(reply_header(r, 1).message_id, 3u);
}

// CLOSE ends the open's waiting notifies with STATUS_NOTIFY_CLEANUP, sent before the
// CLOSE response.
TEST_F(open_fixture, close_ends_pending_notify_with_cleanup) {
    open_dir(false);
    process_message(*conn, message(command::change_notify, 1, notify_body(dir), 7, 1));
    auto r = process_message(*conn, message(command::close, 2, close_body(dir), 7, 1));
    ASSERT_EQ(r.replies.size(), 2u);
    EXPECT_EQ(reply_header(r, 0).status, status::notify_cleanup);
    EXPECT_EQ(reply_header(r, 0).message_id, 1u);
    EXPECT_EQ(reply_header(r, 1).status, status::success);
    EXPECT_EQ(reply_header(r, 1).cmd, command::close);
    EXPECT_TRUE(conn->notifies.empty());
}

// Multichannel: a CLOSE on another channel of the session ends the waiting notify too
// (3.3.5.10), on the strand of the connection that holds it.
TEST_F(open_fixture, close_on_another_channel_ends_pending_notify_with_cleanup) {
    open_dir(false);
    std::mutex m; // the watcher thread posts too
    std::vector<connection::strand_task> posted;
    conn->run_on_strand = [&](connection::strand_task t) {
        std::lock_guard lock(m);
        posted.push_back(std::move(t));
    };
    auto pending =
        process_message(*conn, message(command::change_notify, 1, notify_body(dir), 7, 1));
    ASSERT_EQ(reply_header(pending).status, status::pending);

    connection second(settings, *control, "second");
    auto r = process_message(
        second, message(command::negotiate, 0, negotiate_body({0x0202, 0x0300, 0x0311}, true)));
    ASSERT_EQ(reply_header(r).status, status::success);
    const bytes channel_key(16, 0x55);
    second.add_channel(conn->sessions.at(7).sess, channel_key);
    auto close = message(command::close, 5, close_body(dir), 7, 1, flag_signed);
    ASSERT_TRUE(crypto::sign_in_place(second.signing_alg, channel_key, close));
    auto closed = process_message(second, close);
    ASSERT_EQ(closed.replies.size(), 1u); // the CLOSE response alone: no notify is here
    EXPECT_EQ(reply_header(closed).status, status::success);

    std::vector<connection::strand_task> tasks;
    {
        std::lock_guard lock(m);
        tasks = std::exchange(posted, {});
    }
    ASSERT_FALSE(tasks.empty());
    for (auto& t : tasks) {
        t(*conn);
    }
    auto out = conn->take_outbox();
    ASSERT_EQ(out.size(), 1u);
    header h;
    ASSERT_TRUE(parse_header(out[0], h));
    EXPECT_EQ(h.status, status::notify_cleanup);
    EXPECT_EQ(h.message_id, 1u);
    EXPECT_EQ(h.async_id, reply_header(pending).async_id);
    EXPECT_TRUE(conn->notifies.empty());
    EXPECT_EQ(conn->async_ops.size(), 0u);
}

// A change seen by the watcher thread completes the request on the connection's
// strand; the final response is signed like the interim one and lists the change
// (MS-FSCC 2.7.1).
TEST_F(open_fixture, change_completes_notify_with_signed_response) {
    auto& s = open_dir(true);
    std::mutex m;
    std::condition_variable cv;
    std::vector<connection::strand_task> tasks;
    conn->run_on_strand = [&](connection::strand_task t) {
        std::lock_guard lock(m);
        tasks.push_back(std::move(t));
        cv.notify_all();
    };
    auto req = message(command::change_notify, 1, notify_body(dir), 7, 1, flag_signed);
    ASSERT_TRUE(crypto::sign_in_place(conn->signing_alg, s.signing_key, req));
    auto r = process_message(*conn, req);
    ASSERT_EQ(reply_header(r).status, status::pending);
    EXPECT_TRUE(crypto::verify_signature(conn->signing_alg, s.signing_key, r.replies[0]));

    std::ofstream(root / "new.txt") << "x";
    std::vector<bytes> out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (out.empty() && std::chrono::steady_clock::now() < deadline) {
        std::vector<connection::strand_task> now;
        {
            std::unique_lock lock(m);
            cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return !tasks.empty(); });
            now = std::exchange(tasks, {});
        }
        for (auto& t : now) {
            t(*conn);
        }
        out = conn->take_outbox();
    }
    ASSERT_EQ(out.size(), 1u);
    header h;
    ASSERT_TRUE(parse_header(out[0], h));
    EXPECT_EQ(h.status, status::success);
    EXPECT_EQ(h.message_id, 1u);
    EXPECT_TRUE(h.flags & flag_signed);
    EXPECT_TRUE(crypto::verify_signature(conn->signing_alg, s.signing_key, out[0]));
    byte_reader b(out[0]);
    b.seek(header_size + 4);
    uint32_t length = b.u32();
    b.seek(header_size + 8);
    EXPECT_EQ(b.u32(), 0u); // NextEntryOffset: one entry
    EXPECT_EQ(b.u32(), 1u); // FILE_ACTION_ADDED
    EXPECT_EQ(b.u32(), 14u);
    EXPECT_EQ(length, 12u + 14u);
    conn->run_on_strand = nullptr;
    conn->notifies.clear(); // stop the watch before `tasks` goes
}

TEST_F(engine_fixture, large_ioctl_output_needs_matching_credit_charge) {
    negotiate_311();
    add_session(7, false);
    byte_writer io;
    io.u16(57);
    io.u16(0);
    io.u32(0x0009FFFC); // an FSCTL we do not know: the handler answers, not the charge check
    io.zeros(16);       // FileId
    io.u32(0);          // InputOffset
    io.u32(0);          // InputCount
    io.u32(0);          // MaxInputResponse
    io.u32(0);          // OutputOffset
    io.u32(0);          // OutputCount
    io.u32(256 * 1024); // MaxOutputResponse: 4 credits' worth
    io.u32(1);          // SMB2_0_IOCTL_IS_FSCTL
    io.u32(0);
    auto r = process_message(*conn, message(command::ioctl, 1, io.buffer(), 7, 1, 0, 1));
    EXPECT_EQ(reply_header(r).status, status::invalid_parameter);
    auto ok = process_message(*conn, message(command::ioctl, 2, io.buffer(), 7, 1, 0, 4));
    EXPECT_NE(reply_header(ok).status, status::invalid_parameter);
}
