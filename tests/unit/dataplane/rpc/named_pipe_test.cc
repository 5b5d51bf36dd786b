#include "dataplane/rpc/named_pipe.hh"

#include <gtest/gtest.h>

#include <random>

#include "common/ntstatus.hh"
#include "dataplane/rpc/dcerpc.hh"
#include "dataplane/rpc/ndr.hh"
#include "dataplane/rpc/srvsvc.hh"

using namespace smbx;
using namespace smbx::ipc_pipe;

namespace {

std::vector<ipc::share_info> make_shares(int n) {
    std::vector<ipc::share_info> v;
    for (int i = 0; i < n; ++i) {
        ipc::share_info s;
        s.name = "share_number_" + std::to_string(i);
        s.comment = "a comment long enough to fill fragments " + std::to_string(i);
        s.path = "/srv/" + s.name;
        v.push_back(s);
    }
    return v;
}

share_lister lister_of(std::vector<ipc::share_info> shares) {
    return [shares] { return std::optional(shares); };
}

// The bind smbclient sends for srvsvc: one context, NDR 2.0.
bytes srvsvc_bind(uint16_t max_frag = 4280, uint32_t call_id = 1) {
    dcerpc::bind_pdu b;
    b.hdr.type = dcerpc::ptype::bind;
    b.hdr.pfc_flags = dcerpc::pfc::first_frag | dcerpc::pfc::last_frag;
    b.hdr.call_id = call_id;
    b.max_xmit_frag = max_frag;
    b.max_recv_frag = max_frag;
    b.contexts = {{0, srvsvc_syntax, {dcerpc::ndr20_syntax}}};
    return dcerpc::build_bind(b);
}

bytes share_enum_stub(uint32_t level) {
    ndr::writer w;
    w.unique_wstring(std::string("\\\\127.0.0.1"));
    w.flush_deferred();
    w.u32(level);
    w.u32(level);
    w.unique_ptr(true, [](ndr::writer& w) {
        w.u32(0);
        w.u32(0);
    });
    w.flush_deferred();
    w.u32(0xFFFFFFFF);
    w.unique_ptr(true, [](ndr::writer& w) { w.u32(0); });
    w.flush_deferred();
    return w.take();
}

bytes share_enum_request(uint32_t call_id, uint32_t level = 1) {
    auto stub = share_enum_stub(level);
    return dcerpc::build_request(call_id, dcerpc::pfc::first_frag | dcerpc::pfc::last_frag, 0,
                                 srvsvc_opnum::share_enum, stub, uint32_t(stub.size()));
}

// Reads messages until the pipe is empty.
std::vector<bytes> drain(named_pipe& p, uint32_t max = 65536) {
    std::vector<bytes> msgs;
    bytes msg;
    for (;;) {
        bytes chunk;
        uint32_t st = p.read(max, chunk);
        if (st == status::buffer_overflow) {
            msg.insert(msg.end(), chunk.begin(), chunk.end());
            continue;
        }
        if (st != status::success || chunk.empty()) {
            break;
        }
        msg.insert(msg.end(), chunk.begin(), chunk.end());
        msgs.push_back(std::move(msg));
        msg.clear();
    }
    return msgs;
}

std::shared_ptr<named_pipe> bound_pipe(share_lister lister, uint16_t max_frag = 4280) {
    auto p = open_named_pipe("srvsvc", std::move(lister), "SMBX");
    EXPECT_EQ(p->write(srvsvc_bind(max_frag)), status::success);
    auto msgs = drain(*p);
    EXPECT_EQ(msgs.size(), 1u);
    auto ack = dcerpc::parse_bind_ack(msgs.at(0));
    EXPECT_TRUE(ack);
    EXPECT_EQ(ack->sec_addr, "\\PIPE\\srvsvc");
    EXPECT_EQ(ack->results.at(0).result, dcerpc::ctx_result::acceptance);
    return p;
}

// Concatenated stub of a (possibly fragmented) response.
bytes response_stub(const std::vector<bytes>& msgs) {
    bytes stub;
    for (size_t i = 0; i < msgs.size(); ++i) {
        auto r = dcerpc::parse_response(msgs[i]);
        EXPECT_TRUE(r);
        if (!r) {
            return {};
        }
        EXPECT_EQ(bool(r->hdr.pfc_flags & dcerpc::pfc::last_frag), i + 1 == msgs.size());
        stub.insert(stub.end(), r->stub.begin(), r->stub.end());
    }
    return stub;
}

} // namespace

TEST(named_pipe, opens_srvsvc_by_any_spelling) {
    for (auto name : {"srvsvc", "SRVSVC", "\\srvsvc", "\\PIPE\\srvsvc", "\\pipe\\SrvSvc"}) {
        auto p = open_named_pipe(name, lister_of({}), "SMBX");
        ASSERT_TRUE(p) << name;
        EXPECT_TRUE(p->is_pipe());
    }
    for (auto name : {"lsarpc", "samr", "wkssvc", "", "\\PIPE\\", "srvsvc2", "\\\\srvsvc"}) {
        EXPECT_FALSE(open_named_pipe(name, lister_of({}), "SMBX")) << name;
    }
}

TEST(named_pipe, empty_pipe_reads_nothing_successfully) {
    auto p = open_named_pipe("srvsvc", lister_of({}), "SMBX");
    bytes out = {1, 2, 3};
    EXPECT_EQ(p->read(100, out), status::success);
    EXPECT_TRUE(out.empty());
}

TEST(named_pipe, transceive_share_enum_matches_the_interface) {
    auto shares = make_shares(3);
    auto p = bound_pipe(lister_of(shares));
    bytes out;
    ASSERT_EQ(p->transceive(share_enum_request(2), 65536, out), status::success);
    auto msgs = drain(*p);
    msgs.insert(msgs.begin(), out);
    bytes stub = response_stub(msgs);
    srvsvc direct(lister_of(shares), "SMBX");
    EXPECT_EQ(stub, direct.call(srvsvc_opnum::share_enum, share_enum_stub(1)).stub);
    ndr::reader r(stub);
    EXPECT_EQ(r.u32(), 1u);
    EXPECT_EQ(r.u32(), 1u);
    r.pointer();
    EXPECT_EQ(r.u32(), 4u); // three shares and IPC$
}

TEST(named_pipe, short_reads_return_buffer_overflow_and_the_rest_later) {
    auto p = bound_pipe(lister_of(make_shares(2)));
    ASSERT_EQ(p->write(share_enum_request(2)), status::success);
    bytes first, second, third;
    EXPECT_EQ(p->read(10, first), status::buffer_overflow);
    EXPECT_EQ(first.size(), 10u);
    EXPECT_EQ(p->read(20, second), status::buffer_overflow);
    EXPECT_EQ(p->read(65536, third), status::success);
    bytes whole = first;
    whole.insert(whole.end(), second.begin(), second.end());
    whole.insert(whole.end(), third.begin(), third.end());
    auto r = dcerpc::parse_response(whole);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->hdr.frag_length, whole.size());
    bytes none;
    EXPECT_EQ(p->read(65536, none), status::success);
    EXPECT_TRUE(none.empty());
}

TEST(named_pipe, pdus_split_across_writes_are_reassembled) {
    auto p = open_named_pipe("srvsvc", lister_of(make_shares(1)), "SMBX");
    bytes all = srvsvc_bind();
    bytes req = share_enum_request(2);
    all.insert(all.end(), req.begin(), req.end());
    for (uint8_t b : all) {
        ASSERT_EQ(p->write(byte_span(&b, 1)), status::success);
    }
    auto msgs = drain(*p);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_TRUE(dcerpc::parse_bind_ack(msgs[0]));
    EXPECT_TRUE(dcerpc::parse_response(msgs[1]));
}

TEST(named_pipe, large_enumeration_is_fragmented_and_reassembles) {
    auto shares = make_shares(300);
    auto p = bound_pipe(lister_of(shares), 1432);
    ASSERT_EQ(p->write(share_enum_request(2)), status::success);
    auto msgs = drain(*p, 1432);
    ASSERT_GT(msgs.size(), 20u);
    for (auto& m : msgs) {
        EXPECT_LE(m.size(), 1432u);
    }
    bytes stub = response_stub(msgs);
    srvsvc direct(lister_of(shares), "SMBX");
    EXPECT_EQ(stub, direct.call(srvsvc_opnum::share_enum, share_enum_stub(1)).stub);
}

TEST(named_pipe, fragmented_request_gets_one_answer) {
    auto shares = make_shares(2);
    auto p = bound_pipe(lister_of(shares));
    bytes stub = share_enum_stub(1);
    byte_span s(stub);
    size_t half = 16;
    ASSERT_EQ(p->write(dcerpc::build_request(5, dcerpc::pfc::first_frag, 0, 15, s.first(half),
                                             uint32_t(stub.size()))),
              status::success);
    EXPECT_TRUE(drain(*p).empty());
    ASSERT_EQ(p->write(dcerpc::build_request(5, dcerpc::pfc::last_frag, 0, 15, s.subspan(half),
                                             uint32_t(stub.size() - half))),
              status::success);
    auto msgs = drain(*p);
    ASSERT_EQ(msgs.size(), 1u);
    srvsvc direct(lister_of(shares), "SMBX");
    EXPECT_EQ(response_stub(msgs), direct.call(15, stub).stub);
}

TEST(named_pipe, unframeable_garbage_disconnects) {
    auto p = open_named_pipe("srvsvc", lister_of({}), "SMBX");
    bytes junk(16, 0);
    junk[0] = 5;
    junk[4] = 0x10;
    junk[8] = 4; // frag_length 4 < 16
    EXPECT_EQ(p->write(junk), status::pipe_disconnected);
    bytes out;
    EXPECT_EQ(p->read(100, out), status::pipe_disconnected);
    EXPECT_EQ(p->write(srvsvc_bind()), status::pipe_disconnected);
}

TEST(named_pipe, big_endian_bind_gets_a_nak_then_disconnects) {
    auto p = open_named_pipe("srvsvc", lister_of({}), "SMBX");
    bytes bind = srvsvc_bind(4280, 7);
    bind[4] = 0x00; // big-endian integers: frag_length would read differently
    EXPECT_EQ(p->write(bind), status::success);
    bytes out;
    EXPECT_EQ(p->read(100, out), status::success);
    EXPECT_EQ(out.at(2), uint8_t(dcerpc::ptype::bind_nak));
    EXPECT_EQ(out.at(12 + 3), 7); // call id, as the client wrote it (big-endian)
    EXPECT_EQ(p->read(100, out), status::pipe_disconnected);
}

TEST(named_pipe, request_before_bind_faults_then_disconnects) {
    auto p = open_named_pipe("srvsvc", lister_of({}), "SMBX");
    EXPECT_EQ(p->write(share_enum_request(3)), status::success);
    bytes out;
    ASSERT_EQ(p->read(100, out), status::success);
    auto f = dcerpc::parse_fault(out);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->status, dcerpc::fault::proto_error);
    EXPECT_EQ(p->write(srvsvc_bind()), status::pipe_disconnected);
    EXPECT_EQ(p->read(100, out), status::pipe_disconnected);
}

TEST(named_pipe, random_garbage_never_crashes) {
    std::mt19937 rng(1234);
    for (int round = 0; round < 3000; ++round) {
        auto p = open_named_pipe("srvsvc", lister_of(make_shares(3)), "SMBX");
        if (round % 2) {
            p->write(srvsvc_bind());
        }
        size_t len = rng() % 200;
        bytes data(len);
        for (auto& b : data) {
            b = uint8_t(rng());
        }
        // Keep many inputs plausible enough to get past the header checks.
        if (len >= 16 && round % 3 == 0) {
            data[0] = 5;
            data[1] = 0;
            data[2] = uint8_t(rng() % 20);
            data[4] = 0x10;
            data[8] = uint8_t(len);
            data[9] = 0;
            data[10] = 0;
            data[11] = 0;
        }
        p->write(data);
        size_t total = 0;
        for (int i = 0; i < 1000; ++i) {
            bytes out;
            uint32_t st = p->read(uint32_t(rng() % 5000), out);
            total += out.size();
            if (out.empty() && st != status::buffer_overflow) {
                break;
            }
        }
        EXPECT_LT(total, 1u << 20);
    }
}
