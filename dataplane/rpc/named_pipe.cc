// A message-mode named pipe (MS-FSCC 2.1.5 FILE_PIPE_MESSAGE_MODE) in front of a
// DCE/RPC association: each PDU the server produces is one message.
#include "dataplane/rpc/named_pipe.hh"

#include <algorithm>
#include <deque>

#include "common/log.hh"
#include "common/ntstatus.hh"
#include "dataplane/rpc/dcerpc.hh"
#include "dataplane/rpc/srvsvc.hh"

namespace smbx::ipc_pipe {

namespace {

// Output nobody reads is bounded: a client writing requests without reading the
// replies is cut off rather than growing the queue without limit.
constexpr size_t max_queued_output = 8 * 1024 * 1024;

class rpc_pipe final : public named_pipe {
public:
    explicit rpc_pipe(std::unique_ptr<dcerpc::rpc_interface> iface) : _rpc(std::move(iface)) {}

    uint32_t write(byte_span data) override {
        if (_broken) {
            return status::pipe_disconnected;
        }
        _in.insert(_in.end(), data.begin(), data.end());
        size_t pos = 0;
        std::vector<bytes> replies;
        while (_in.size() - pos >= dcerpc::header_size) {
            byte_span rest(_in.data() + pos, _in.size() - pos);
            auto hdr = dcerpc::parse_header(rest);
            // frag_length is a u16, so one PDU never exceeds 64 KiB.
            if (!hdr->little_endian() || hdr->frag_length < dcerpc::header_size) {
                _rpc.reject_unframeable(*hdr, replies);
                break;
            }
            if (rest.size() < hdr->frag_length) {
                break;
            }
            _rpc.handle_pdu(rest.first(hdr->frag_length), replies);
            pos += hdr->frag_length;
            if (_rpc.broken()) {
                break;
            }
        }
        _in.erase(_in.begin(), _in.begin() + static_cast<ptrdiff_t>(pos));
        for (auto& r : replies) {
            _queued += r.size();
            _out.push_back(std::move(r));
        }
        if (_rpc.broken() || _queued > max_queued_output) {
            LOG_DEBUG("ipc: pipe broken after a protocol error");
            _broken = true;
            _in.clear();
            // A fault or bind_nak explaining why is still there to be read.
            return _out.empty() ? status::pipe_disconnected : status::success;
        }
        return status::success;
    }

    // Message mode (MS-SMB2 3.3.5.12): one PDU per message; a short read returns
    // BUFFER_OVERFLOW and leaves the rest of that message for the next read. Nothing
    // pending: SUCCESS and no bytes (the SMB2 layer decides between waiting and
    // answering), or PIPE_DISCONNECTED once the association is broken.
    uint32_t read(uint32_t max, bytes& out) override {
        out.clear();
        if (_out.empty()) {
            return _broken ? status::pipe_disconnected : status::success;
        }
        bytes& head = _out.front();
        size_t left = head.size() - _head_offset;
        size_t n = std::min<size_t>(left, max);
        out.assign(head.begin() + static_cast<ptrdiff_t>(_head_offset),
                   head.begin() + static_cast<ptrdiff_t>(_head_offset + n));
        if (n < left) {
            _head_offset += n;
            return status::buffer_overflow;
        }
        _queued -= head.size();
        _out.pop_front();
        _head_offset = 0;
        return status::success;
    }

private:
    dcerpc::connection _rpc;
    bytes _in;               // a partial PDU waiting for the rest of its bytes
    std::deque<bytes> _out;  // response PDUs, one message each
    size_t _head_offset = 0; // bytes of _out.front() already read
    size_t _queued = 0;
    bool _broken = false;
};

// "srvsvc", "\srvsvc", "\PIPE\srvsvc" (any case) -> "srvsvc" (lower case).
std::string pipe_base_name(std::string_view name) {
    std::string n;
    for (char c : name) {
        n.push_back((c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c);
    }
    for (std::string_view prefix : {"\\pipe\\", "pipe\\", "\\"}) {
        if (n.starts_with(prefix)) {
            n.erase(0, prefix.size());
            break;
        }
    }
    return n;
}

} // namespace

std::shared_ptr<named_pipe> open_named_pipe(std::string_view name, share_lister lister,
                                            std::string_view server_name) {
    std::string base = pipe_base_name(name);
    if (base == "srvsvc") {
        return std::make_shared<rpc_pipe>(
            std::make_unique<srvsvc>(std::move(lister), std::string(server_name)));
    }
    LOG_DEBUG("ipc: no pipe named '%.*s'", int(name.size()), name.data());
    return nullptr;
}

} // namespace smbx::ipc_pipe
