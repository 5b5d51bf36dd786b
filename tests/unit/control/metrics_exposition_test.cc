// format_metrics: Prometheus names, HELP/TYPE before the samples, per-worker series,
// sessions by dialect/signing/encryption. (promtool checks the real exposition in
// tests/integration/test_prometheus.sh.)
#include "control/metrics_exposition.hh"

#include <gtest/gtest.h>

namespace smbx {
namespace {

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(metrics_exposition, data_plane_down_is_one_gauge) {
    EXPECT_EQ(format_metrics(std::nullopt),
              "# HELP smbx_dataplane_up 1 if the data plane answered this scrape's status "
              "request, else 0.\n# TYPE smbx_dataplane_up gauge\nsmbx_dataplane_up 0\n");
}

TEST(metrics_exposition, counters_by_worker_gauges_and_sessions) {
    ipc::status_reply s;
    s.sessions.push_back({1, "alice", "127.0.0.1:1", 0x0311, true, false});
    s.sessions.push_back({2, "bob", "127.0.0.1:2", 0x0311, true, false});
    s.sessions.push_back({3, "", "127.0.0.1:3", 0x0202, false, false});
    s.opens.push_back({1, "share", "a", ""});
    s.counters = {{"file_read_fixed_bytes", 300},
                  {"pool_in_use", 7},
                  {"dpdk_rx_frames", 9},
                  {"some new thing", 5}};
    s.worker_counters = {{"file_read_fixed_bytes", 0, 100},
                         {"file_read_fixed_bytes", 1, 150},
                         {"file_read_fixed_bytes", ipc::worker_counter::other_threads, 50}};
    auto text = format_metrics(s);
    EXPECT_TRUE(has_line(text, "smbx_dataplane_up 1"));
    EXPECT_TRUE(has_line(text, "# TYPE smbx_file_read_fixed_bytes_total counter"));
    EXPECT_TRUE(has_line(text, "smbx_file_read_fixed_bytes_total{worker=\"0\"} 100"));
    EXPECT_TRUE(has_line(text, "smbx_file_read_fixed_bytes_total{worker=\"1\"} 150"));
    EXPECT_TRUE(has_line(text, "smbx_file_read_fixed_bytes_total{worker=\"other\"} 50"));
    EXPECT_FALSE(has_line(text, "smbx_file_read_fixed_bytes_total 300")); // only by worker
    EXPECT_TRUE(has_line(text, "# TYPE smbx_buffer_pool_buffers_in_use gauge"));
    EXPECT_TRUE(has_line(text, "smbx_buffer_pool_buffers_in_use 7"));
    EXPECT_TRUE(has_line(text, "# TYPE smbx_dpdk_rx_frames_total counter"));
    EXPECT_TRUE(has_line(text, "smbx_dpdk_rx_frames_total 9"));
    EXPECT_TRUE(has_line(text, "# TYPE smbx_some_new_thing untyped"));
    EXPECT_TRUE(has_line(text, "smbx_some_new_thing 5"));
    EXPECT_TRUE(
        has_line(text, "smbx_sessions{dialect=\"3.1.1\",signing=\"yes\",encryption=\"no\"} 2"));
    EXPECT_TRUE(
        has_line(text, "smbx_sessions{dialect=\"2.0.2\",signing=\"no\",encryption=\"no\"} 1"));
    EXPECT_TRUE(
        has_line(text, "smbx_sessions{dialect=\"3.0\",signing=\"yes\",encryption=\"yes\"} 0"));
    EXPECT_TRUE(has_line(text, "smbx_open_files 1"));
    // Every family's HELP and TYPE come before its first sample, once.
    size_t help = text.find("# HELP smbx_file_read_fixed_bytes_total ");
    size_t type = text.find("# TYPE smbx_file_read_fixed_bytes_total ");
    size_t first = text.find("\nsmbx_file_read_fixed_bytes_total{");
    ASSERT_NE(first, std::string::npos);
    EXPECT_LT(help, type);
    EXPECT_LT(type, first);
    EXPECT_EQ(text.find("# HELP smbx_file_read_fixed_bytes_total ", help + 1), std::string::npos);
}

TEST(metrics_exposition, per_command_counters_become_labelled_families) {
    ipc::status_reply s;
    s.worker_counters = {{"smb2_command:8:responses_0", 0, 12},
                         {"smb2_command:8:responses_3", 0, 1},
                         {"smb2_command:8:response_bytes", 0, 4096},
                         {"smb2_command:9:request_bytes", ipc::worker_counter::other_threads, 10},
                         {"smb2_command:19:responses_0", 0, 5}, // no such command: left out
                         {"smb2_command:8:responses_4", 0, 5}}; // no such class: left out
    auto text = format_metrics(s);
    EXPECT_TRUE(has_line(text, "# TYPE smbx_smb2_responses_total counter"));
    EXPECT_TRUE(has_line(
        text,
        "smbx_smb2_responses_total{command=\"read\",status_class=\"success\",worker=\"0\"} 12"));
    EXPECT_TRUE(has_line(
        text, "smbx_smb2_responses_total{command=\"read\",status_class=\"error\",worker=\"0\"} 1"));
    EXPECT_TRUE(
        has_line(text, "smbx_smb2_response_bytes_total{command=\"read\",worker=\"0\"} 4096"));
    EXPECT_TRUE(
        has_line(text, "smbx_smb2_request_bytes_total{command=\"write\",worker=\"other\"} 10"));
    EXPECT_EQ(text.find("} 5\n"), std::string::npos);
}

TEST(metrics_exposition, server_copy_bytes_is_a_counter_by_worker) {
    ipc::status_reply s;
    s.counters = {{"server_copy_bytes", 64}};
    s.worker_counters = {{"server_copy_bytes", ipc::worker_counter::other_threads, 64}};
    auto text = format_metrics(s);
    EXPECT_TRUE(has_line(text, "# TYPE smbx_server_copy_bytes_total counter"));
    EXPECT_TRUE(has_line(text, "smbx_server_copy_bytes_total{worker=\"other\"} 64"));
}

} // namespace
} // namespace smbx
