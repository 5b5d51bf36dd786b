// Arbitrary bytes written to a srvsvc pipe: once as they come, once after a valid
// bind (so requests reach srvsvc's NDR parsers), then read until the pipe is empty.
// The first byte also picks how the input is cut into writes.
#include <cstddef>
#include <cstdint>

#include "common/ntstatus.hh"
#include "dataplane/rpc/dcerpc.hh"
#include "dataplane/rpc/named_pipe.hh"
#include "dataplane/rpc/srvsvc.hh"

using namespace smbx;

namespace {

std::vector<ipc::share_info> fuzz_shares() {
    std::vector<ipc::share_info> v;
    for (int i = 0; i < 40; ++i) {
        ipc::share_info s;
        s.name = "share" + std::to_string(i);
        s.comment = "comment " + std::to_string(i);
        s.path = "/srv/share" + std::to_string(i);
        s.browseable = i % 5 != 0;
        s.encrypt_required = i % 7 == 0;
        v.push_back(s);
    }
    return v;
}

bytes srvsvc_bind(uint16_t frag) {
    dcerpc::bind_pdu b;
    b.hdr.type = dcerpc::ptype::bind;
    b.hdr.pfc_flags = dcerpc::pfc::first_frag | dcerpc::pfc::last_frag;
    b.hdr.call_id = 1;
    b.max_xmit_frag = frag;
    b.max_recv_frag = frag;
    b.contexts = {{0, ipc_pipe::srvsvc_syntax, {dcerpc::ndr20_syntax}},
                  {1, ipc_pipe::srvsvc_syntax, {dcerpc::ndr64_syntax}},
                  {2, ipc_pipe::srvsvc_syntax, {dcerpc::bind_time_feature_syntax(3)}}};
    return dcerpc::build_bind(b);
}

void drain(ipc_pipe::named_pipe& p, uint32_t max) {
    // Every read makes progress (max >= 1), so this ends; the bound is a backstop.
    for (int i = 0; i < 1000000; ++i) {
        bytes out;
        uint32_t st = p.read(max, out);
        if (st != status::buffer_overflow && out.empty()) {
            return;
        }
    }
    __builtin_trap();
}

void run(byte_span data, bool bind_first, size_t chunk, uint32_t read_max) {
    static const auto shares = fuzz_shares();
    auto p = ipc_pipe::open_named_pipe(
        "\\PIPE\\srvsvc", [] { return std::optional(shares); }, "FUZZ");
    if (bind_first) {
        p->write(srvsvc_bind(uint16_t(1432 + read_max % 3000)));
        drain(*p, 65536);
    }
    for (size_t off = 0; off < data.size(); off += chunk) {
        p->write(data.subspan(off, std::min(chunk, data.size() - off)));
    }
    drain(*p, read_max);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    uint8_t mode = data[0];
    byte_span in(data + 1, size - 1);
    size_t chunk = (mode & 0x0F) == 0 ? in.size() + 1 : size_t(mode & 0x0F) * 7;
    uint32_t read_max = (mode & 0xF0) == 0 ? 65536 : uint32_t(mode >> 4) * 97;
    run(in, false, chunk, read_max);
    run(in, true, chunk, read_max);
    return 0;
}
