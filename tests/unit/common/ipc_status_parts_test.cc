// ipc::encode_status_parts / append_status_part: a status reply with many clients goes
// over several ring slots and comes back whole, in order.
#include <gtest/gtest.h>

#include "common/control_channel.hh"
#include "common/ipc_messages.hh"

namespace smbx {
namespace {

ipc::status_reply many_clients(size_t n) {
    ipc::status_reply s;
    for (size_t i = 0; i < n; ++i) {
        s.sessions.push_back(
            {i + 1, "alice", "10.20.30.40:" + std::to_string(40000 + i), 0x0311, false, false});
        s.opens.push_back({i + 1, "share", "smbx-bench/file-" + std::to_string(i), ""});
    }
    // About as many counters as the data plane reports with `transport = dpdk`.
    for (int i = 0; i < 30; ++i) {
        s.counters.emplace_back("some_data_path_counter_" + std::to_string(i), i);
    }
    return s;
}

// Decodes and appends every part, as control does; nullopt if any is refused.
std::optional<ipc::status_reply> reassemble(const std::vector<bytes>& parts, size_t max_size) {
    ipc::status_reply whole;
    for (const auto& p : parts) {
        EXPECT_LE(p.size(), max_size);
        auto part = ipc::decode_status_reply(p);
        if (!part || !ipc::append_status_part(whole, std::move(*part))) {
            return std::nullopt;
        }
    }
    return whole;
}

TEST(ipc_status_parts, small_reply_is_one_message) {
    auto s = many_clients(3);
    auto parts = ipc::encode_status_parts(7, s, 16384);
    ASSERT_EQ(parts.size(), 1u);
    EXPECT_EQ(parts[0], ipc::encode(7, s));                       // part 0, no more
    EXPECT_EQ(ipc::encode_status_parts(7, {}, 16384).size(), 1u); // nothing still answers
}

TEST(ipc_status_parts, thousand_clients_span_slots_and_come_back_whole) {
    auto s = many_clients(1000);
    const size_t slot = control_channel::slot_size - 8; // the ring's per-slot header
    ASSERT_GT(ipc::encode(7, s).size(), 4 * slot);      // why this exists
    auto parts = ipc::encode_status_parts(7, s, slot);
    EXPECT_GT(parts.size(), 4u);
    auto back = reassemble(parts, slot);
    ASSERT_TRUE(back);
    EXPECT_FALSE(back->more);
    EXPECT_EQ(back->part, parts.size()); // every part counted
    ASSERT_EQ(back->sessions.size(), 1000u);
    ASSERT_EQ(back->opens.size(), 1000u);
    ASSERT_EQ(back->counters.size(), 30u);
    for (size_t i = 0; i < 1000; ++i) {
        EXPECT_EQ(back->sessions[i].session_id, i + 1); // in order
        EXPECT_EQ(back->sessions[i].client_address, s.sessions[i].client_address);
        EXPECT_EQ(back->opens[i].path, s.opens[i].path);
    }
    EXPECT_EQ(back->counters.back(), s.counters.back());
}

TEST(ipc_status_parts, out_of_order_or_missing_part_is_refused) {
    auto parts = ipc::encode_status_parts(7, many_clients(500), 4096);
    ASSERT_GT(parts.size(), 3u);
    auto skipped = parts;
    skipped.erase(skipped.begin() + 1);
    EXPECT_FALSE(reassemble(skipped, 4096));
    auto swapped = parts;
    std::swap(swapped[1], swapped[2]);
    EXPECT_FALSE(reassemble(swapped, 4096));
}

TEST(ipc_status_parts, an_entry_too_long_for_a_part_is_cut_at_a_utf8_boundary) {
    ipc::status_reply s;
    std::string path;
    while (path.size() < 3000) {
        path += "d\xC3\xA9j\xC3\xA0/"; // "déjà/": two-byte sequences to cut around
    }
    s.opens.push_back({1, "share", path, ""});
    s.sessions.push_back({1, std::string(5000, 'u'), "127.0.0.1:1", 0x0311, true, true});
    auto parts = ipc::encode_status_parts(1, s, 1024);
    auto back = reassemble(parts, 1024);
    ASSERT_TRUE(back);
    ASSERT_EQ(back->opens.size(), 1u);
    const auto& cut = back->opens[0].path;
    EXPECT_LT(cut.size(), 1024u);
    EXPECT_GT(cut.size(), 400u);
    EXPECT_EQ(path.compare(0, cut.size(), cut), 0);
    EXPECT_NE(static_cast<unsigned char>(path[cut.size()]) & 0xC0, 0x80); // not mid-sequence
    ASSERT_EQ(back->sessions.size(), 1u);
    EXPECT_EQ(back->sessions[0].client_address, "127.0.0.1:1");
}

} // namespace
} // namespace smbx
