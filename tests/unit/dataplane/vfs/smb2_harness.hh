// Drives the SMB2 file command handlers directly with real request bodies against a
// temporary share: one connection, one session, one tree connect.
#pragma once

#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "common/ntstatus.hh"
#include "dataplane/control_client.hh"
#include "dataplane/smb2/handlers.hh"
#include "test_share.hh"

namespace smbx::vfs::testing {

using smb2::file_id;

struct result {
    uint32_t status = 0;
    bytes body;
    bool error = false;

    uint16_t u16(size_t at) const { return uint16_t(body.at(at) | (body.at(at + 1) << 8)); }
    uint32_t u32(size_t at) const { return u16(at) | (uint32_t(u16(at + 2)) << 16); }
    uint64_t u64(size_t at) const { return u32(at) | (uint64_t(u32(at + 4)) << 32); }
};

class smb2_fixture : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_TRUE(_channel.create());
        _control = std::make_unique<control_client>(_channel, _wake_a, _wake_b);
        conn = std::make_unique<smb2::connection>(_settings, *_control, "test");
        conn->negotiated = true;
        conn->dialect = smb2::dialect_311;
        auto s = std::make_shared<smb2::session>();
        s->id = 7;
        s->st = smb2::session::state::valid;
        auto t = std::make_shared<smb2::tree_connect>();
        t->id = 3;
        t->share.name = "share";
        t->share.path = share.root();
        s->add_tree(t);
        sess = s.get();
        tree = t.get();
        conn->add_channel(std::move(s));
    }
    void TearDown() override {
        conn.reset();
        _control.reset();
        ::close(_wake_a);
        ::close(_wake_b);
    }

    result call(void (*handler)(smb2::request&, smb2::response&), const bytes& body) {
        smb2::header h;
        h.session_id = 7;
        h.tree_id = 3;
        h.flags = related ? smb2::flag_related_operations : 0;
        byte_writer w;
        smb2::write_header(w, h);
        w.put(body);
        bytes msg = w.take();
        smb2::request req{*conn, h, msg, sess, tree, &chain};
        smb2::response resp;
        handler(req, resp);
        // READ data travels in its own buffer; here it follows the body as on the wire.
        bytes out = resp.body.take();
        out.insert(out.end(), resp.payload.data(), resp.payload.data() + resp.payload.size());
        return {resp.status, std::move(out), resp.error_body};
    }

    // CREATE body (MS-SMB2 2.2.13) with the name at offset 0x78.
    static bytes create_body(std::string_view name, uint32_t access, uint32_t disposition,
                             uint32_t options = 0, uint32_t share_access = 7,
                             uint32_t attributes = 0, const bytes& contexts = {}) {
        bytes n = utf16le(name);
        byte_writer w;
        w.u16(57);
        w.u8(0);
        w.u8(0);
        w.u32(2); // Impersonation
        w.zeros(16);
        w.u32(access);
        w.u32(attributes);
        w.u32(share_access);
        w.u32(disposition);
        w.u32(options);
        w.u16(uint16_t(smb2::header_size + 56));
        w.u16(uint16_t(n.size()));
        size_t ctx = w.reserve(8);
        w.put(n);
        if (n.empty()) {
            w.u8(0);
        }
        if (!contexts.empty()) {
            while ((w.size() + smb2::header_size) % 8) {
                w.u8(0);
            }
            w.patch_u32(ctx, uint32_t(w.size() + smb2::header_size));
            w.patch_u32(ctx + 4, uint32_t(contexts.size()));
            w.put(contexts);
        }
        return w.take();
    }

    static bytes context(const char* tag, const bytes& data, bool last = true) {
        byte_writer w;
        size_t next = w.reserve(4);
        w.u16(16);
        w.u16(4);
        w.u16(0);
        w.u16(data.empty() ? 0 : 24);
        w.u32(uint32_t(data.size()));
        w.put(tag, 4);
        w.zeros(4);
        w.put(data);
        if (!last) {
            w.align(8);
            w.patch_u32(next, uint32_t(w.size()));
        }
        return w.take();
    }

    static file_id id_of(const result& r) { return {r.u64(64), r.u64(72)}; }

    // Opens (or creates) and returns the FileId; fails the test otherwise.
    file_id open(std::string_view name, uint32_t access, uint32_t disposition, uint32_t options = 0,
                 uint32_t share_access = 7) {
        auto r = call(smb2::handle_create,
                      create_body(name, access, disposition, options, share_access));
        EXPECT_EQ(r.status, status::success) << name;
        return r.body.size() >= 88 ? id_of(r) : file_id{};
    }

    static void put_id(byte_writer& w, file_id id) {
        w.u64(id.persistent);
        w.u64(id.volatile_id);
    }

    static bytes close_body(file_id id, uint16_t flags = 0) {
        byte_writer w;
        w.u16(24);
        w.u16(flags);
        w.u32(0);
        put_id(w, id);
        return w.take();
    }
    static bytes read_body(file_id id, uint64_t offset, uint32_t length, uint32_t minimum = 0,
                           uint32_t channel = 0) {
        byte_writer w;
        w.u16(49);
        w.u8(0);
        w.u8(0);
        w.u32(length);
        w.u64(offset);
        put_id(w, id);
        w.u32(minimum);
        w.u32(channel);
        w.u32(0);
        w.u16(0);
        w.u16(0);
        w.u8(0);
        return w.take();
    }
    static bytes write_body(file_id id, uint64_t offset, std::string_view data,
                            uint16_t data_offset = smb2::header_size + 48) {
        byte_writer w;
        w.u16(49);
        w.u16(data_offset);
        w.u32(uint32_t(data.size()));
        w.u64(offset);
        put_id(w, id);
        w.u32(0); // Channel
        w.u32(0);
        w.u16(0);
        w.u16(0);
        w.u32(0); // Flags
        w.put(data.data(), data.size());
        return w.take();
    }
    static bytes query_dir_body(file_id id, uint8_t cls, uint8_t flags, std::string_view pattern,
                                uint32_t output_length = 65536) {
        bytes p = utf16le(pattern);
        byte_writer w;
        w.u16(33);
        w.u8(cls);
        w.u8(flags);
        w.u32(0);
        put_id(w, id);
        w.u16(uint16_t(smb2::header_size + 32));
        w.u16(uint16_t(p.size()));
        w.u32(output_length);
        w.put(p);
        if (p.empty()) {
            w.u8(0);
        }
        return w.take();
    }
    static bytes query_info_body(uint8_t type, uint8_t cls, file_id id,
                                 uint32_t output_length = 4096, uint32_t additional = 0) {
        byte_writer w;
        w.u16(41);
        w.u8(type);
        w.u8(cls);
        w.u32(output_length);
        w.u16(0);
        w.u16(0);
        w.u32(0);
        w.u32(additional);
        w.u32(0);
        put_id(w, id);
        w.u8(0);
        return w.take();
    }
    static bytes set_info_body(uint8_t type, uint8_t cls, file_id id, const bytes& buf,
                               uint32_t additional = 0) {
        byte_writer w;
        w.u16(33);
        w.u8(type);
        w.u8(cls);
        w.u32(uint32_t(buf.size()));
        w.u16(uint16_t(smb2::header_size + 32));
        w.u16(0);
        w.u32(additional);
        put_id(w, id);
        w.put(buf);
        return w.take();
    }

    temp_share share;
    std::unique_ptr<smb2::connection> conn;
    smb2::session* sess = nullptr;
    smb2::tree_connect* tree = nullptr;
    file_id chain{};
    bool related = false; // mark requests as part of a related compound

private:
    control_channel _channel;
    int _wake_a = ::eventfd(0, 0);
    int _wake_b = ::eventfd(0, 0);
    dataplane_settings _settings;
    std::unique_ptr<control_client> _control;
};

} // namespace smbx::vfs::testing
