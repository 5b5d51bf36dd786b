// ipc::encode_fitting: a status reply with many clients still fits one ring slot, and
// smbxctl's text still gives the true totals.
#include <gtest/gtest.h>

#include "common/control_channel.hh"
#include "common/ipc_messages.hh"
#include "control/admin_socket.hh"

namespace smbx {
namespace {

ipc::status_reply many_clients(size_t n) {
    ipc::status_reply s;
    for (size_t i = 0; i < n; ++i) {
        s.sessions.push_back(
            {i + 1, "alice", "10.20.30.40:" + std::to_string(40000 + i), 0x0311, false, false});
        s.opens.push_back({i + 1, "share", "smbx-bench/file-" + std::to_string(i)});
    }
    // About as many counters as the data plane reports with `transport = dpdk`.
    for (int i = 0; i < 30; ++i) {
        s.counters.emplace_back("some_data_path_counter_" + std::to_string(i), i);
    }
    s.counters.emplace_back("dpdk_connections", n);
    return s;
}

uint64_t counter(const ipc::status_reply& s, const std::string& name) {
    for (auto& [k, v] : s.counters) {
        if (k == name) {
            return v;
        }
    }
    return ~0ull;
}

TEST(ipc_status_fit, small_reply_is_unchanged) {
    auto s = many_clients(3);
    EXPECT_EQ(ipc::encode_fitting(7, s, 16384), ipc::encode(7, s));
}

TEST(ipc_status_fit, two_hundred_clients_fit_one_slot_and_keep_their_totals) {
    auto s = many_clients(200);
    const size_t slot = control_channel::slot_size - 8; // the ring's per-slot header
    ASSERT_GT(ipc::encode(7, s).size(), slot);          // why this exists
    bytes fitted = ipc::encode_fitting(7, s, slot);
    EXPECT_LE(fitted.size(), slot);
    auto back = ipc::decode_status_reply(fitted);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->sessions.size() + counter(*back, "status_sessions_not_listed"), 200u);
    EXPECT_EQ(back->opens.size() + counter(*back, "status_opens_not_listed"), 200u);
    EXPECT_EQ(counter(*back, "dpdk_connections"), 200u); // the counters survive
    EXPECT_EQ(back->sessions.front().session_id, 1u);    // cut from the end

    std::string text = format_status(*back);
    EXPECT_NE(text.find("sessions: 200"), std::string::npos) << text.substr(0, 200);
    EXPECT_NE(text.find("open files: 200"), std::string::npos);
    EXPECT_NE(text.find("not listed"), std::string::npos);
    EXPECT_EQ(text.find("status_"), std::string::npos); // folded into the totals
    EXPECT_NE(text.find("  dpdk_connections 200\n"), std::string::npos);
}

TEST(ipc_status_fit, thousands_of_sessions_are_cut_too) {
    auto s = many_clients(5000);
    s.opens.clear();
    bytes fitted = ipc::encode_fitting(1, s, 16000);
    EXPECT_LE(fitted.size(), 16000u);
    auto back = ipc::decode_status_reply(fitted);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->sessions.size() + counter(*back, "status_sessions_not_listed"), 5000u);
    EXPECT_GT(back->sessions.size(), 100u);
}

} // namespace
} // namespace smbx
