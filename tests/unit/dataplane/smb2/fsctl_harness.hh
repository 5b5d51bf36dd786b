// IOCTL requests against a temporary share (vfs smb2_harness): a body builder, a
// second session on the same connection, and the file helpers the FSCTL tests share.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "../vfs/smb2_harness.hh"
#include "dataplane/vfs/access.hh"

namespace smbx::smb2::testing {

class fsctl_fixture : public vfs::testing::smb2_fixture {
protected:
    static constexpr uint32_t rw = vfs::file_generic_read | vfs::file_generic_write;
    static constexpr uint32_t open_if = 3;
    static constexpr uint32_t overwrite_if = 5;

    // SMB2 IOCTL Request (2.2.31) with `input` at offset 0x78.
    static bytes ioctl_body(uint32_t ctl, file_id id, const bytes& input, uint32_t max_output) {
        byte_writer w;
        w.u16(57);
        w.u16(0);
        w.u32(ctl);
        put_id(w, id);
        w.u32(input.empty() ? 0 : uint32_t(header_size + 56)); // InputOffset
        w.u32(uint32_t(input.size()));
        w.u32(0); // MaxInputResponse
        w.u32(0); // OutputOffset
        w.u32(0); // OutputCount
        w.u32(max_output);
        w.u32(1); // SMB2_0_IOCTL_IS_FSCTL
        w.u32(0);
        w.put(input);
        return w.take();
    }

    vfs::testing::result ioctl(uint32_t ctl, file_id id, const bytes& input = {},
                               uint32_t max_output = 1024) {
        return call(handle_ioctl, ioctl_body(ctl, id, input, max_output));
    }

    // The output of an IOCTL response (after its 48-byte fixed part).
    static bytes output_of(const vfs::testing::result& r) {
        if (r.error || r.body.size() < 48) {
            return {};
        }
        return bytes(r.body.begin() + 48, r.body.end());
    }

    // A file of `data`, opened with `access`.
    file_id file_with(const std::string& name, const std::string& data, uint32_t access = rw) {
        share.write(name, data);
        return open(name, access, open_if);
    }

    std::string contents(const std::string& name) const {
        std::string out;
        int fd = ::open(share.path(name).c_str(), O_RDONLY | O_CLOEXEC);
        char buf[65536];
        ssize_t n;
        while (fd >= 0 && (n = ::read(fd, buf, sizeof buf)) > 0) {
            out.append(buf, size_t(n));
        }
        if (fd >= 0) {
            ::close(fd);
        }
        return out;
    }

    // Runs `body` as session 8 (tree 4, the same share): another session of the same
    // connection.
    vfs::testing::result call_as_other_session(void (*handler)(request&, response&),
                                               const bytes& body) {
        if (!_other) {
            auto s = std::make_shared<session>();
            s->id = 8;
            s->st = session::state::valid;
            auto t = std::make_shared<tree_connect>();
            t->id = 4;
            t->share.name = "share";
            t->share.path = share.root();
            s->add_tree(t);
            _other = s.get();
            _other_tree = t.get();
            conn->add_channel(std::move(s));
        }
        header h;
        h.session_id = 8;
        h.tree_id = 4;
        byte_writer w;
        write_header(w, h);
        w.put(body);
        bytes msg = w.take();
        file_id chain_id{~0ULL, ~0ULL};
        request req{*conn, h, msg, _other, _other_tree, &chain_id};
        response resp;
        handler(req, resp);
        return {resp.status, resp.body.take(), resp.error_body};
    }

private:
    session* _other = nullptr;
    tree_connect* _other_tree = nullptr;
};

} // namespace smbx::smb2::testing
