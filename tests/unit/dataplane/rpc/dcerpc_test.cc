#include "dataplane/rpc/dcerpc.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::dcerpc;

namespace {

constexpr syntax_id test_syntax{
    uuid::from_fields(0x12345678, 0x1234, 0xabcd, {0xef, 0, 1, 2, 3, 4, 5, 6}), 1, 0};
constexpr syntax_id other_syntax{
    uuid::from_fields(0x12345778, 0x1234, 0xabcd, {0xef, 0, 1, 2, 3, 4, 5, 7}), 0, 0};

// Opnum 1 echoes the stub with each byte incremented; opnum 2 returns a stub of the
// size named by the request's first u32; others fault.
class echo_interface : public rpc_interface {
public:
    explicit echo_interface(int* calls) : _calls(calls) {}
    syntax_id abstract_syntax() const override { return test_syntax; }
    std::string_view secondary_address() const override { return "\\PIPE\\test"; }
    call_result call(uint16_t opnum, byte_span stub) override {
        ++*_calls;
        if (opnum == 1) {
            bytes out(stub.begin(), stub.end());
            for (auto& b : out) {
                ++b;
            }
            return {0, out};
        }
        if (opnum == 2) {
            byte_reader r(stub);
            bytes out(r.u32());
            for (size_t i = 0; i < out.size(); ++i) {
                out[i] = uint8_t(i * 7);
            }
            return {0, out};
        }
        return {fault::op_rng_error, {}};
    }

private:
    int* _calls;
};

bind_pdu make_bind(std::vector<context_elem> contexts, uint16_t max_xmit = 4280,
                   uint16_t max_recv = 4280) {
    bind_pdu b;
    b.hdr.type = ptype::bind;
    b.hdr.pfc_flags = pfc::first_frag | pfc::last_frag;
    b.hdr.call_id = 1;
    b.max_xmit_frag = max_xmit;
    b.max_recv_frag = max_recv;
    b.contexts = std::move(contexts);
    return b;
}

struct fixture {
    int calls = 0;
    connection conn{std::make_unique<echo_interface>(&calls)};
    std::vector<bytes> out;

    const std::vector<bytes>& send(const bytes& pdu) {
        out.clear();
        conn.handle_pdu(pdu, out);
        return out;
    }
    void bind_ok(uint16_t max = 4280) {
        auto r = send(build_bind(make_bind({{0, test_syntax, {ndr20_syntax}}}, max, max)));
        ASSERT_EQ(r.size(), 1u);
        auto ack = parse_bind_ack(r[0]);
        ASSERT_TRUE(ack);
        ASSERT_EQ(ack->results.at(0).result, ctx_result::acceptance);
    }
};

} // namespace

TEST(dcerpc, bind_ack_fields_and_layout) {
    fixture f;
    auto b = make_bind({{0, test_syntax, {ndr20_syntax}}});
    b.hdr.call_id = 0x2a;
    auto r = f.send(build_bind(b));
    ASSERT_EQ(r.size(), 1u);
    const bytes& p = r[0];
    // Common header.
    EXPECT_EQ(p[0], 5);
    EXPECT_EQ(p[1], 0);
    EXPECT_EQ(p[2], uint8_t(ptype::bind_ack));
    EXPECT_EQ(p[3], pfc::first_frag | pfc::last_frag);
    EXPECT_EQ((bytes{p.begin() + 4, p.begin() + 8}), (bytes{0x10, 0, 0, 0}));
    EXPECT_EQ(p[8] | (p[9] << 8), int(p.size()));
    EXPECT_EQ(p[10] | (p[11] << 8), 0);
    EXPECT_EQ(p[12], 0x2a);
    // max_xmit, max_recv, then the secondary address: length 11 incl. NUL, at 24.
    EXPECT_EQ(p[16] | (p[17] << 8), 4280);
    EXPECT_EQ(p[18] | (p[19] << 8), 4280);
    EXPECT_EQ(p[24] | (p[25] << 8), 11);
    EXPECT_EQ(std::string(p.begin() + 26, p.begin() + 36), "\\PIPE\\test");
    EXPECT_EQ(p[36], 0);
    // 37 aligned to 40: one result, accepted with NDR 2.0.
    EXPECT_EQ(p[40], 1);
    EXPECT_EQ(p[44] | (p[45] << 8), ctx_result::acceptance);
    EXPECT_EQ(p.size(), 44u + 24u);

    auto ack = parse_bind_ack(p);
    ASSERT_TRUE(ack);
    EXPECT_NE(ack->assoc_group_id, 0u);
    EXPECT_EQ(ack->assoc_group_id, f.conn.assoc_group_id());
    EXPECT_EQ(ack->sec_addr, "\\PIPE\\test");
    ASSERT_EQ(ack->results.size(), 1u);
    EXPECT_EQ(ack->results[0].transfer, ndr20_syntax);
}

TEST(dcerpc, bind_keeps_the_clients_assoc_group) {
    fixture f;
    auto b = make_bind({{0, test_syntax, {ndr20_syntax}}});
    b.assoc_group_id = 0x1234;
    auto ack = parse_bind_ack(f.send(build_bind(b)).at(0));
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->assoc_group_id, 0x1234u);
}

TEST(dcerpc, bind_caps_fragment_size_at_the_clients) {
    {
        fixture f;
        auto ack = parse_bind_ack(
            f.send(build_bind(make_bind({{0, test_syntax, {ndr20_syntax}}}, 5840, 2003))).at(0));
        ASSERT_TRUE(ack);
        EXPECT_EQ(ack->max_xmit_frag, 2000); // min(5840, 2003) truncated to 8
        EXPECT_EQ(ack->max_recv_frag, 2000);
        EXPECT_EQ(f.conn.max_xmit_frag(), 2000);
    }
    {
        fixture f;
        auto ack = parse_bind_ack(
            f.send(build_bind(make_bind({{0, test_syntax, {ndr20_syntax}}}, 65535, 65535))).at(0));
        EXPECT_EQ(ack->max_xmit_frag, max_frag_size);
    }
    {
        fixture f;
        auto ack = parse_bind_ack(
            f.send(build_bind(make_bind({{0, test_syntax, {ndr20_syntax}}}, 100, 100))).at(0));
        EXPECT_EQ(ack->max_xmit_frag, min_frag_size);
    }
}

TEST(dcerpc, multi_context_bind_gets_per_context_results) {
    fixture f;
    auto b = make_bind({
        {0, test_syntax, {ndr20_syntax}},
        {1, test_syntax, {ndr64_syntax}},
        {2, test_syntax, {bind_time_feature_syntax(0x3)}},
        {3, other_syntax, {ndr20_syntax}},
        {4, test_syntax, {ndr64_syntax, ndr20_syntax}},
    });
    auto ack = parse_bind_ack(f.send(build_bind(b)).at(0));
    ASSERT_TRUE(ack);
    ASSERT_EQ(ack->results.size(), 5u);
    EXPECT_EQ(ack->results[0].result, ctx_result::acceptance);
    EXPECT_EQ(ack->results[0].transfer, ndr20_syntax);
    EXPECT_EQ(ack->results[1].result, ctx_result::provider_rejection);
    EXPECT_EQ(ack->results[1].reason, ctx_reason::proposed_transfer_syntaxes_not_supported);
    EXPECT_EQ(ack->results[1].transfer, syntax_id{});
    EXPECT_EQ(ack->results[2].result, ctx_result::negotiate_ack);
    EXPECT_EQ(ack->results[2].reason, bind_time_feature::keep_connection_on_orphan);
    EXPECT_EQ(ack->results[3].result, ctx_result::provider_rejection);
    EXPECT_EQ(ack->results[3].reason, ctx_reason::abstract_syntax_not_supported);
    EXPECT_EQ(ack->results[4].result, ctx_result::acceptance);

    // Context 1 was refused: a request on it faults with unknown_if; 0 and 4 work.
    auto r = f.send(build_request(2, pfc::first_frag | pfc::last_frag, 1, 1, {}, 0));
    auto fault = parse_fault(r.at(0));
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->status, fault::unknown_if);
    EXPECT_TRUE(fault->hdr.pfc_flags & pfc::did_not_execute);
    EXPECT_FALSE(f.conn.broken());
    EXPECT_TRUE(parse_response(
        f.send(build_request(3, pfc::first_frag | pfc::last_frag, 4, 1, {}, 0)).at(0)));
    EXPECT_EQ(f.calls, 1);
}

TEST(dcerpc, feature_negotiation_without_orphan_bit_acks_nothing) {
    fixture f;
    auto b = make_bind(
        {{0, test_syntax, {ndr20_syntax}}, {1, test_syntax, {bind_time_feature_syntax(0x1)}}});
    auto ack = parse_bind_ack(f.send(build_bind(b)).at(0));
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->results[1].result, ctx_result::negotiate_ack);
    EXPECT_EQ(ack->results[1].reason, 0);
}

TEST(dcerpc, bind_with_auth_is_nakked) {
    fixture f;
    bytes pdu = build_bind(make_bind({{0, test_syntax, {ndr20_syntax}}}));
    // Append an 8-byte auth header and 16-byte token, as NTLMSSP would.
    pdu.resize(pdu.size() + 24, 0);
    pdu[8] = uint8_t(pdu.size());
    pdu[10] = 16;
    auto r = f.send(pdu);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0][2], uint8_t(ptype::bind_nak));
    EXPECT_EQ(r[0][16] | (r[0][17] << 8), nak_reason::authentication_type_not_recognized);
    EXPECT_EQ(r[0].size(), 24u);
    // The client can still bind without authentication.
    f.bind_ok();
}

TEST(dcerpc, bind_with_unsupported_data_representation_is_nakked) {
    fixture f;
    bytes pdu = build_bind(make_bind({{0, test_syntax, {ndr20_syntax}}}));
    pdu[4] = 0x11; // EBCDIC characters
    auto r = f.send(pdu);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0][2], uint8_t(ptype::bind_nak));
}

TEST(dcerpc, bind_with_wrong_version_is_nakked_and_breaks) {
    fixture f;
    bytes pdu = build_bind(make_bind({{0, test_syntax, {ndr20_syntax}}}));
    pdu[0] = 4;
    auto r = f.send(pdu);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0][2], uint8_t(ptype::bind_nak));
    EXPECT_EQ(r[0][16], nak_reason::protocol_version_not_supported);
    EXPECT_TRUE(f.conn.broken());
}

TEST(dcerpc, bind_without_contexts_is_nakked) {
    fixture f;
    auto r = f.send(build_bind(make_bind({})));
    EXPECT_EQ(r.at(0)[2], uint8_t(ptype::bind_nak));
    auto r2 = f.send(build_bind(make_bind({{0, test_syntax, {}}})));
    EXPECT_EQ(r2.at(0)[2], uint8_t(ptype::bind_nak));
}

TEST(dcerpc, second_bind_is_refused) {
    fixture f;
    f.bind_ok();
    auto r = f.send(build_bind(make_bind({{0, test_syntax, {ndr20_syntax}}})));
    EXPECT_EQ(r.at(0)[2], uint8_t(ptype::bind_nak));
    EXPECT_FALSE(f.conn.broken());
}

TEST(dcerpc, alter_context_adds_a_context) {
    fixture f;
    f.bind_ok();
    auto b = make_bind({{7, test_syntax, {ndr20_syntax}}, {8, other_syntax, {ndr20_syntax}}});
    b.hdr.type = ptype::alter_context;
    auto r = f.send(build_bind(b));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0][2], uint8_t(ptype::alter_context_resp));
    auto resp = parse_bind_ack(r[0]);
    ASSERT_TRUE(resp);
    EXPECT_EQ(resp->sec_addr, "");
    EXPECT_EQ(r[0][24] | (r[0][25] << 8), 0); // no secondary address
    ASSERT_EQ(resp->results.size(), 2u);
    EXPECT_EQ(resp->results[0].result, ctx_result::acceptance);
    EXPECT_EQ(resp->results[1].reason, ctx_reason::abstract_syntax_not_supported);
    const uint8_t stub[] = {1, 2, 3};
    auto out = parse_response(
        f.send(build_request(9, pfc::first_frag | pfc::last_frag, 7, 1, stub, 3)).at(0));
    ASSERT_TRUE(out);
    EXPECT_EQ(bytes(out->stub.begin(), out->stub.end()), (bytes{2, 3, 4}));
    EXPECT_EQ(out->context_id, 7);
    EXPECT_EQ(out->hdr.call_id, 9u);
}

TEST(dcerpc, alter_context_before_bind_is_a_protocol_error) {
    fixture f;
    auto b = make_bind({{0, test_syntax, {ndr20_syntax}}});
    b.hdr.type = ptype::alter_context;
    auto fault = parse_fault(f.send(build_bind(b)).at(0));
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->status, fault::proto_error);
    EXPECT_TRUE(f.conn.broken());
}

TEST(dcerpc, request_before_bind_faults_and_breaks) {
    fixture f;
    auto fault =
        parse_fault(f.send(build_request(5, pfc::first_frag | pfc::last_frag, 0, 1, {}, 0)).at(0));
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->status, fault::proto_error);
    EXPECT_EQ(fault->hdr.call_id, 5u);
    EXPECT_TRUE(f.conn.broken());
    EXPECT_TRUE(f.send(build_request(6, 3, 0, 1, {}, 0)).empty());
    EXPECT_EQ(f.calls, 0);
}

TEST(dcerpc, unknown_opnum_faults_with_op_rng_error) {
    fixture f;
    f.bind_ok();
    auto r = f.send(build_request(3, pfc::first_frag | pfc::last_frag, 0, 99, {}, 0));
    auto fault = parse_fault(r.at(0));
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->status, fault::op_rng_error);
    EXPECT_EQ(r[0].size(), 32u);
    EXPECT_FALSE(f.conn.broken());
}

TEST(dcerpc, request_with_auth_verifier_is_refused) {
    fixture f;
    f.bind_ok();
    bytes pdu = build_request(3, pfc::first_frag | pfc::last_frag, 0, 1, {}, 0);
    pdu.resize(pdu.size() + 24, 0);
    pdu[8] = uint8_t(pdu.size());
    pdu[10] = 16;
    auto fault = parse_fault(f.send(pdu).at(0));
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->status, fault::access_denied);
    EXPECT_EQ(f.calls, 0);
}

TEST(dcerpc, response_is_fragmented_by_max_xmit_frag) {
    fixture f;
    f.bind_ok(1432);
    const uint32_t size = 10000;
    bytes stub = {uint8_t(size), uint8_t(size >> 8), 0, 0};
    auto r = f.send(build_request(4, pfc::first_frag | pfc::last_frag, 0, 2, stub, 4));
    ASSERT_GT(r.size(), 1u);
    bytes joined;
    for (size_t i = 0; i < r.size(); ++i) {
        EXPECT_LE(r[i].size(), 1432u);
        auto p = parse_response(r[i]);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->hdr.call_id, 4u);
        EXPECT_EQ(bool(p->hdr.pfc_flags & pfc::first_frag), i == 0);
        EXPECT_EQ(bool(p->hdr.pfc_flags & pfc::last_frag), i + 1 == r.size());
        EXPECT_EQ(p->alloc_hint, size - joined.size());
        if (i + 1 < r.size()) {
            EXPECT_EQ(p->stub.size() % 8, 0u);
        }
        joined.insert(joined.end(), p->stub.begin(), p->stub.end());
    }
    ASSERT_EQ(joined.size(), size);
    for (size_t i = 0; i < size; ++i) {
        ASSERT_EQ(joined[i], uint8_t(i * 7));
    }
}

TEST(dcerpc, empty_response_is_one_fragment) {
    auto frags = build_response(1, 0, {}, 4280);
    ASSERT_EQ(frags.size(), 1u);
    EXPECT_EQ(frags[0].size(), 24u);
    EXPECT_EQ(frags[0][3], pfc::first_frag | pfc::last_frag);
}

TEST(dcerpc, fragmented_request_is_reassembled) {
    fixture f;
    f.bind_ok();
    bytes stub(3000);
    for (size_t i = 0; i < stub.size(); ++i) {
        stub[i] = uint8_t(i);
    }
    byte_span s(stub);
    EXPECT_TRUE(f.send(build_request(8, pfc::first_frag, 0, 1, s.first(1000), 3000)).empty());
    EXPECT_TRUE(f.send(build_request(8, 0, 0, 1, s.subspan(1000, 1500), 2000)).empty());
    EXPECT_EQ(f.calls, 0);
    auto r = f.send(build_request(8, pfc::last_frag, 0, 1, s.subspan(2500), 500));
    ASSERT_EQ(r.size(), 1u);
    auto p = parse_response(r[0]);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->stub.size(), stub.size());
    for (size_t i = 0; i < stub.size(); ++i) {
        ASSERT_EQ(p->stub[i], uint8_t(stub[i] + 1));
    }
    EXPECT_EQ(f.calls, 1);
}

TEST(dcerpc, continuation_with_another_call_id_is_a_protocol_error) {
    fixture f;
    f.bind_ok();
    const uint8_t part[] = {1, 2, 3, 4};
    EXPECT_TRUE(f.send(build_request(8, pfc::first_frag, 0, 1, part, 8)).empty());
    auto fault = parse_fault(f.send(build_request(9, pfc::last_frag, 0, 1, part, 4)).at(0));
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->status, fault::proto_error);
    EXPECT_TRUE(f.conn.broken());
}

TEST(dcerpc, continuation_without_first_fragment_is_a_protocol_error) {
    fixture f;
    f.bind_ok();
    auto fault = parse_fault(f.send(build_request(8, pfc::last_frag, 0, 1, {}, 0)).at(0));
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->status, fault::proto_error);
}

TEST(dcerpc, oversized_reassembly_is_refused) {
    fixture f;
    f.bind_ok();
    bytes chunk(60000, 0x5A);
    EXPECT_TRUE(f.send(build_request(8, pfc::first_frag, 0, 1, chunk, 0)).empty());
    std::vector<bytes> r;
    size_t sent = chunk.size();
    while (r.empty() && sent <= max_request_size + chunk.size()) {
        r = f.send(build_request(8, 0, 0, 1, chunk, 0));
        sent += chunk.size();
    }
    ASSERT_EQ(r.size(), 1u);
    auto fault = parse_fault(r[0]);
    ASSERT_TRUE(fault);
    EXPECT_EQ(fault->status, fault::proto_error);
    EXPECT_GT(sent, max_request_size);
    EXPECT_TRUE(f.conn.broken());
    EXPECT_EQ(f.calls, 0);
}

TEST(dcerpc, huge_alloc_hint_is_refused_up_front) {
    fixture f;
    f.bind_ok();
    auto fault = parse_fault(f.send(build_request(8, pfc::first_frag, 0, 1, {}, 0xFFFFFFFF)).at(0));
    ASSERT_TRUE(fault);
    EXPECT_TRUE(f.conn.broken());
}

TEST(dcerpc, orphaned_drops_a_partial_request) {
    fixture f;
    f.bind_ok();
    const uint8_t part[] = {1, 2, 3, 4};
    EXPECT_TRUE(f.send(build_request(8, pfc::first_frag, 0, 1, part, 8)).empty());
    bytes orphan = build_request(8, pfc::first_frag | pfc::last_frag, 0, 0, {}, 0);
    orphan[2] = uint8_t(ptype::orphaned);
    EXPECT_TRUE(f.send(orphan).empty());
    // A new call starts cleanly.
    auto r = f.send(build_request(10, pfc::first_frag | pfc::last_frag, 0, 1, part, 4));
    EXPECT_TRUE(parse_response(r.at(0)));
    EXPECT_FALSE(f.conn.broken());
}

TEST(dcerpc, server_only_pdu_types_break_the_association) {
    for (auto t : {ptype::response, ptype::fault, ptype::bind_ack, ptype::shutdown, ptype::auth3,
                   ptype(42)}) {
        fixture f;
        f.bind_ok();
        bytes pdu = build_request(3, pfc::first_frag | pfc::last_frag, 0, 1, {}, 0);
        pdu[2] = uint8_t(t);
        auto fault = parse_fault(f.send(pdu).at(0));
        ASSERT_TRUE(fault);
        EXPECT_EQ(fault->status, fault::proto_error);
        EXPECT_TRUE(f.conn.broken());
    }
}

TEST(dcerpc, truncated_pdus_never_crash) {
    bytes full = build_bind(make_bind({{0, test_syntax, {ndr20_syntax}}}));
    bytes req = build_request(3, pfc::first_frag | pfc::last_frag, 0, 1, bytes(16, 1), 16);
    for (const bytes* src : {&full, &req}) {
        for (size_t n = header_size; n < src->size(); ++n) {
            fixture f;
            if (src == &req) {
                f.bind_ok();
            }
            bytes cut(src->begin(), src->begin() + n);
            cut[8] = uint8_t(n); // frag_length consistent with the cut
            cut[9] = 0;
            auto r = f.send(cut);
            // Either a refusal or (for a request cut inside its stub) a real answer.
            ASSERT_LE(r.size(), 1u);
            if (src == &full) {
                ASSERT_EQ(r.size(), 1u);
                EXPECT_EQ(r[0][2], uint8_t(ptype::bind_nak));
            }
        }
    }
}

TEST(dcerpc, bind_time_feature_syntax_round_trips) {
    auto s = bind_time_feature_syntax(0x0102);
    EXPECT_EQ(bind_time_features(s), 0x0102u);
    EXPECT_FALSE(bind_time_features(ndr20_syntax));
    EXPECT_FALSE(bind_time_features(ndr64_syntax));
}
