// A connection driven with real SMB2 messages, as the engine tests use it: a
// control channel nobody answers, helpers to build requests and read replies, and
// sessions made ready the way SESSION_SETUP and TREE_CONNECT would leave them.
#pragma once

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "common/ntstatus.hh"
#include "dataplane/control_client.hh"
#include "dataplane/smb2/dispatch.hh"

namespace smbx::smb2::testing {

// The engine's replies with any READ payload joined to its head, as they go on the wire.
struct flat_result {
    std::vector<bytes> replies;
    bool disconnect = false;
};

inline flat_result process_message(connection& conn, bytes message) {
    auto r = smb2::process_message(conn, pool_buffer(std::move(message)));
    flat_result out;
    out.disconnect = r.disconnect;
    for (auto& m : r.replies) {
        bytes b = std::move(m.head);
        b.insert(b.end(), m.payload.data(), m.payload.data() + m.payload.size());
        out.replies.push_back(std::move(b));
    }
    return out;
}

struct engine_fixture : ::testing::Test {
    control_channel channel;
    int wake_a = eventfd(0, 0), wake_b = eventfd(0, 0);
    dataplane_settings settings;
    std::unique_ptr<control_client> control;
    std::unique_ptr<connection> conn;

    void SetUp() override {
        ASSERT_TRUE(channel.create());
        control = std::make_unique<control_client>(channel, wake_a, wake_b);
        conn = std::make_unique<connection>(settings, *control, "test");
    }
    void TearDown() override {
        conn.reset();
        control.reset();
        close(wake_a);
        close(wake_b);
    }

    static bytes message(command cmd, uint64_t mid, const bytes& body, uint64_t sid = 0,
                         uint32_t tid = 0, uint32_t flags = 0, uint16_t charge = 1) {
        header h;
        h.cmd = cmd;
        h.message_id = mid;
        h.session_id = sid;
        h.tree_id = tid;
        h.flags = flags;
        h.credit_charge = charge;
        h.credits = 10;
        byte_writer w;
        write_header(w, h);
        w.put(body);
        return w.take();
    }

    static bytes negotiate_body(std::vector<uint16_t> dialects, bool contexts,
                                std::vector<uint16_t> ciphers = {2, 1},
                                std::vector<uint16_t> signing = {2, 1}) {
        byte_writer w;
        w.u16(36);
        w.u16(static_cast<uint16_t>(dialects.size()));
        w.u16(signing_enabled);
        w.u16(0);
        w.u32(cap_encryption | cap_large_mtu);
        w.zeros(16);
        size_t ctx_at = w.reserve(4);
        size_t count_at = w.reserve(2);
        w.u16(0);
        for (auto d : dialects) {
            w.u16(d);
        }
        if (contexts) {
            auto ctx = [&](uint16_t type, const bytes& data) {
                while ((w.size() + header_size) % 8) {
                    w.u8(0);
                }
                w.u16(type);
                w.u16(static_cast<uint16_t>(data.size()));
                w.u32(0);
                w.put(data);
            };
            while ((w.size() + header_size) % 8) {
                w.u8(0);
            }
            w.patch_u32(ctx_at, static_cast<uint32_t>(w.size() + header_size));
            byte_writer p;
            p.u16(1);
            p.u16(32);
            p.u16(hash_sha512);
            p.zeros(32);
            ctx(ctx_preauth_integrity, p.buffer());
            byte_writer e;
            e.u16(static_cast<uint16_t>(ciphers.size()));
            for (auto c : ciphers) {
                e.u16(c);
            }
            ctx(ctx_encryption, e.buffer());
            byte_writer s;
            s.u16(static_cast<uint16_t>(signing.size()));
            for (auto a : signing) {
                s.u16(a);
            }
            ctx(ctx_signing, s.buffer());
            w.patch_u16(count_at, 3);
        }
        return w.take();
    }

    static header reply_header(const flat_result& r, size_t index = 0) {
        header h;
        EXPECT_LT(index, r.replies.size());
        if (index < r.replies.size()) {
            EXPECT_TRUE(parse_header(r.replies[index], h));
        }
        return h;
    }

    // A valid session and tree, as SESSION_SETUP and TREE_CONNECT would leave them.
    session& add_session(uint64_t id, bool signing_required) {
        auto s = std::make_shared<session>();
        s->id = id;
        s->st = session::state::valid;
        s->user = "alice";
        s->session_key = bytes(16, 0x11);
        s->signing_key = bytes(16, 0x22);
        s->encryption_key = bytes(16, 0x33);
        s->decryption_key = bytes(16, 0x44);
        s->signing_required = signing_required;
        auto t = std::make_shared<tree_connect>();
        t->id = 1;
        t->share.name = "share";
        t->share.path = "/nonexistent";
        s->add_tree(t);
        auto& ref = *s;
        conn->add_channel(std::move(s));
        return ref;
    }

    // Joins requests into one compound message: NextCommand set, each 8-byte aligned.
    static bytes chain(std::vector<bytes> parts) {
        bytes out;
        for (size_t i = 0; i < parts.size(); ++i) {
            auto& m = parts[i];
            if (i + 1 < parts.size()) {
                m.resize((m.size() + 7) & ~size_t(7), 0);
                uint32_t n = static_cast<uint32_t>(m.size());
                std::memcpy(m.data() + 20, &n, 4);
            }
            out.insert(out.end(), m.begin(), m.end());
        }
        return out;
    }

    // The responses of one reply message, split at NextCommand.
    static std::vector<std::pair<header, bytes>> split(const bytes& reply) {
        std::vector<std::pair<header, bytes>> out;
        size_t off = 0;
        while (off < reply.size()) {
            header h;
            EXPECT_TRUE(parse_header(byte_span(reply).subspan(off), h));
            size_t len = h.next_command ? h.next_command : reply.size() - off;
            out.emplace_back(h, bytes(reply.begin() + off, reply.begin() + off + len));
            if (!h.next_command) {
                break;
            }
            off += h.next_command;
        }
        return out;
    }

    void negotiate_311() {
        auto r = process_message(
            *conn, message(command::negotiate, 0, negotiate_body({0x0202, 0x0300, 0x0311}, true)));
        ASSERT_FALSE(r.disconnect);
        ASSERT_EQ(reply_header(r).status, status::success);
    }
};

} // namespace smbx::smb2::testing
