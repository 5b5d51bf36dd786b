#include "common/ipc_messages.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::ipc;

namespace {

share_info sample_share() {
    share_info s;
    s.name = "data";
    s.path = "/srv/data";
    s.comment = "Data \xc3\xa9";
    s.type = share_type::disk;
    s.read_only = true;
    s.browseable = false;
    s.encrypt_required = true;
    s.direct_io = true;
    s.oplocks = false;
    s.level2_oplocks = false;
    return s;
}

void expect_same(const share_info& a, const share_info& b) {
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.path, b.path);
    EXPECT_EQ(a.comment, b.comment);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.read_only, b.read_only);
    EXPECT_EQ(a.browseable, b.browseable);
    EXPECT_EQ(a.encrypt_required, b.encrypt_required);
    EXPECT_EQ(a.direct_io, b.direct_io);
    EXPECT_EQ(a.oplocks, b.oplocks);
    EXPECT_EQ(a.level2_oplocks, b.level2_oplocks);
}

// Every strict prefix and every extension by one byte must fail to decode.
template <typename Decode> void expect_strict(const bytes& m, Decode decode) {
    ASSERT_TRUE(decode(m).has_value());
    for (size_t n = 0; n < m.size(); ++n) {
        EXPECT_FALSE(decode(byte_span(m.data(), n)).has_value()) << "prefix " << n;
    }
    bytes longer = m;
    longer.push_back(0);
    EXPECT_FALSE(decode(longer).has_value()) << "trailing byte";
}

} // namespace

TEST(ipc_messages, header) {
    auto m = encode_hello(42, 7);
    auto h = decode_header(m);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->type, msg_type::hello);
    EXPECT_EQ(h->id, 42u);
    EXPECT_FALSE(decode_header(byte_span(m.data(), 15)));
}

TEST(ipc_messages, hello) {
    auto m = encode_hello(1, 4321);
    EXPECT_EQ(decode_hello(m), 4321u);
    expect_strict(m, [](byte_span s) { return decode_hello(s); });
}

TEST(ipc_messages, auth_request) {
    auth_request a;
    a.auth_id = 0x1122334455667788;
    a.client_address = "127.0.0.1:50000";
    a.blob = {0x60, 0x01, 0x02, 0xff};
    auto m = encode(9, a);
    EXPECT_EQ(decode_header(m)->type, msg_type::auth_request);
    auto d = decode_auth_request(m);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->auth_id, a.auth_id);
    EXPECT_EQ(d->client_address, a.client_address);
    EXPECT_EQ(d->blob, a.blob);
    expect_strict(m, [](byte_span s) { return decode_auth_request(s); });
}

TEST(ipc_messages, auth_reply) {
    auth_reply a;
    a.status = 0xC0000016;
    a.auth_id = 3;
    a.blob = bytes(300, 0xab);
    a.session_key = bytes(16, 0x5a);
    a.user = "alice";
    a.domain = "WORKGROUP";
    a.guest = true;
    a.anonymous = false;
    auto d = decode_auth_reply(encode(2, a));
    ASSERT_TRUE(d);
    EXPECT_EQ(d->status, a.status);
    EXPECT_EQ(d->auth_id, a.auth_id);
    EXPECT_EQ(d->blob, a.blob);
    EXPECT_EQ(d->session_key, a.session_key);
    EXPECT_EQ(d->user, a.user);
    EXPECT_EQ(d->domain, a.domain);
    EXPECT_TRUE(d->guest);
    EXPECT_FALSE(d->anonymous);
    a.guest = false;
    a.anonymous = true;
    d = decode_auth_reply(encode(2, a));
    ASSERT_TRUE(d);
    EXPECT_FALSE(d->guest);
    EXPECT_TRUE(d->anonymous);
    expect_strict(encode(2, a), [](byte_span s) { return decode_auth_reply(s); });
}

TEST(ipc_messages, auth_abandon) {
    auto m = encode(5, auth_abandon{77});
    auto d = decode_auth_abandon(m);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->auth_id, 77u);
    expect_strict(m, [](byte_span s) { return decode_auth_abandon(s); });
}

TEST(ipc_messages, tree_connect_request) {
    tree_connect_request t;
    t.user = "bob";
    t.guest = false;
    t.anonymous = true;
    t.share = "Data";
    auto m = encode(11, t);
    auto d = decode_tree_connect_request(m);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->user, "bob");
    EXPECT_FALSE(d->guest);
    EXPECT_TRUE(d->anonymous);
    EXPECT_EQ(d->share, "Data");
    expect_strict(m, [](byte_span s) { return decode_tree_connect_request(s); });
}

TEST(ipc_messages, tree_connect_reply) {
    tree_connect_reply t;
    t.status = 0xC00000CC;
    t.share = sample_share();
    auto m = encode(12, t);
    auto d = decode_tree_connect_reply(m);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->status, t.status);
    expect_same(d->share, t.share);
    expect_strict(m, [](byte_span s) { return decode_tree_connect_reply(s); });
}

TEST(ipc_messages, share_enum) {
    auto req = encode_share_enum_request(13);
    EXPECT_EQ(decode_header(req)->type, msg_type::share_enum_request);
    EXPECT_EQ(decode_header(req)->id, 13u);

    share_enum_reply r;
    r.shares.push_back(sample_share());
    share_info ipc;
    ipc.name = "IPC$";
    ipc.type = share_type::ipc;
    r.shares.push_back(ipc);
    auto m = encode(13, r);
    auto d = decode_share_enum_reply(m);
    ASSERT_TRUE(d);
    ASSERT_EQ(d->shares.size(), 2u);
    expect_same(d->shares[0], r.shares[0]);
    expect_same(d->shares[1], r.shares[1]);
    expect_strict(m, [](byte_span s) { return decode_share_enum_reply(s); });
    EXPECT_TRUE(decode_share_enum_reply(encode(1, share_enum_reply{})));
}

TEST(ipc_messages, status) {
    auto req = encode_status_request(14);
    EXPECT_EQ(decode_header(req)->type, msg_type::status_request);

    status_reply s;
    s.sessions.push_back({0x100000001, "alice", "127.0.0.1:1234", 0x0311, true, false});
    s.sessions.push_back({2, "", "10.0.0.2:445", 0x0202, false, true});
    s.opens.push_back({0x100000001, "data", "dir/file.txt", "lease RH"});
    s.part = 3;
    s.more = true;
    s.worker_counters.push_back({"pool_gets", 1, 77});
    s.worker_counters.push_back({"pool_gets", worker_counter::other_threads, 5});
    auto m = encode(14, s);
    auto d = decode_status_reply(m);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->part, 3u);
    EXPECT_TRUE(d->more);
    ASSERT_EQ(d->worker_counters.size(), 2u);
    EXPECT_EQ(d->worker_counters[0].name, "pool_gets");
    EXPECT_EQ(d->worker_counters[0].worker, 1u);
    EXPECT_EQ(d->worker_counters[0].value, 77u);
    EXPECT_EQ(d->worker_counters[1].worker, worker_counter::other_threads);
    ASSERT_EQ(d->sessions.size(), 2u);
    EXPECT_EQ(d->sessions[0].session_id, 0x100000001u);
    EXPECT_EQ(d->sessions[0].user, "alice");
    EXPECT_EQ(d->sessions[0].client_address, "127.0.0.1:1234");
    EXPECT_EQ(d->sessions[0].dialect, 0x0311);
    EXPECT_TRUE(d->sessions[0].signing);
    EXPECT_FALSE(d->sessions[0].encryption);
    EXPECT_TRUE(d->sessions[1].encryption);
    ASSERT_EQ(d->opens.size(), 1u);
    EXPECT_EQ(d->opens[0].share, "data");
    EXPECT_EQ(d->opens[0].path, "dir/file.txt");
    EXPECT_EQ(d->opens[0].caching, "lease RH");
    expect_strict(m, [](byte_span s) { return decode_status_reply(s); });
}

TEST(ipc_messages, wrong_type_rejected) {
    auto hello = encode_hello(1, 2);
    EXPECT_FALSE(decode_auth_request(hello));
    EXPECT_FALSE(decode_auth_reply(hello));
    EXPECT_FALSE(decode_tree_connect_request(hello));
    EXPECT_FALSE(decode_status_reply(hello));
    EXPECT_FALSE(decode_hello(encode(1, auth_abandon{2})));
}

TEST(ipc_messages, huge_length_fields_rejected) {
    // A string length far beyond the message must fail, not allocate or over-read.
    auth_request a;
    a.client_address = "x";
    auto m = encode(1, a);
    // Body: u64 auth_id at 16, then the u32 address length at 24.
    m[24] = m[25] = m[26] = m[27] = 0xff;
    EXPECT_FALSE(decode_auth_request(m));
    // A count of sessions that the body cannot hold (after the u32 part and u8 more).
    auto s = encode(1, status_reply{});
    s[21] = s[22] = s[23] = s[24] = 0xff;
    EXPECT_FALSE(decode_status_reply(s));
}
