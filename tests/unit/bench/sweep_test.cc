// smbx-bench --sweep: the grid, the CSV and the gnuplot script.
#include "bench/smbx_bench/sweep.hh"

#include <gtest/gtest.h>

using namespace smbx::bench;

namespace {

run_summary point(uint32_t bs, uint32_t qd, double mb_per_s, uint64_t p99_ns) {
    run_summary s;
    s.rw = "randread";
    s.block_size = bs;
    s.iodepth = qd;
    s.connections = 2;
    s.dialect = "3.1.1";
    s.seconds = 2;
    s.bytes = uint64_t(mb_per_s * 1e6 * 2);
    s.ops = s.bytes / bs;
    s.read_ops = s.ops;
    s.latency.record(p99_ns / 2);
    s.latency.record(p99_ns);
    return s;
}

std::vector<std::string> fields(const std::string& line) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t comma = line.find(',', start);
        out.push_back(line.substr(start, comma == std::string::npos ? comma : comma - start));
        if (comma == std::string::npos) {
            return out;
        }
        start = comma + 1;
    }
}

} // namespace

TEST(sweep, grid_is_block_sizes_outer_queue_depths_inner) {
    options o;
    o.sweep_bs = {4096, 65536};
    o.sweep_qd = {1, 32};
    using p = std::pair<uint32_t, uint32_t>;
    EXPECT_EQ(sweep_grid(o), (std::vector<p>{{4096, 1}, {4096, 32}, {65536, 1}, {65536, 32}}));
    o.sweep_qd.clear();
    o.iodepth = 8;
    EXPECT_EQ(sweep_grid(o), (std::vector<p>{{4096, 8}, {65536, 8}}));
}

TEST(sweep, size_labels) {
    EXPECT_EQ(size_label(4096), "4k");
    EXPECT_EQ(size_label(1u << 20), "1m");
    EXPECT_EQ(size_label(8u << 20), "8m");
    EXPECT_EQ(size_label(12288), "12k");
    EXPECT_EQ(size_label(1000), "1000");
}

TEST(sweep, csv_row_matches_header) {
    auto header = fields(csv_header().substr(0, csv_header().size() - 1));
    std::string row = csv_row(point(65536, 8, 500, 2'000'000), 1);
    ASSERT_EQ(row.back(), '\n');
    auto values = fields(row.substr(0, row.size() - 1));
    ASSERT_EQ(values.size(), header.size());
    auto at = [&](const std::string& name) {
        for (size_t i = 0; i < header.size(); ++i) {
            if (header[i] == name) {
                return values[i];
            }
        }
        ADD_FAILURE() << "no column " << name;
        return std::string();
    };
    EXPECT_EQ(at("rw"), "randread");
    EXPECT_EQ(at("bs"), "65536");
    EXPECT_EQ(at("iodepth"), "8");
    EXPECT_EQ(at("connections"), "2");
    EXPECT_EQ(at("threads"), "1");
    EXPECT_EQ(at("mb_per_s"), "500.000");
    EXPECT_EQ(at("iops"), "7629.0"); // 1e9 bytes / 65536 / 2 s, rounded down to whole ops
    // The histogram's resolution is under 1.6%: 2 ms reads as 1968..2000 us.
    double p99 = std::stod(at("lat_p99_us"));
    EXPECT_GE(p99, 1968.0);
    EXPECT_LE(p99, 2000.0);
}

TEST(sweep, gnuplot_lines_per_block_size_against_queue_depth) {
    std::vector<run_summary> pts = {point(4096, 1, 50, 100'000), point(4096, 32, 300, 900'000),
                                    point(1u << 20, 1, 900, 2'000'000),
                                    point(1u << 20, 32, 1800, 30'000'000)};
    std::string gp = gnuplot_script(pts, "randread, it's a test", "/tmp/out.svg");
    EXPECT_NE(gp.find("set terminal svg"), std::string::npos);
    EXPECT_NE(gp.find("set output '/tmp/out.svg'"), std::string::npos);
    EXPECT_NE(gp.find("title 'randread, it''s a test'"), std::string::npos); // quote doubled
    EXPECT_NE(gp.find("xlabel 'queue depth"), std::string::npos);
    // A data block per block size, rows "qd MB/s p99_us" in queue-depth order.
    auto block = gp.find("$s4096 << EOD\n1 50.000 ");
    ASSERT_NE(block, std::string::npos) << gp;
    EXPECT_NE(gp.find("32 300.000 ", block), std::string::npos);
    EXPECT_NE(gp.find("$s1048576 << EOD\n1 900.000 "), std::string::npos);
    EXPECT_NE(gp.find("title 'bs 4k'"), std::string::npos);
    EXPECT_NE(gp.find("title 'bs 1m'"), std::string::npos);
    // Two plots: MB/s (column 2) and p99 (column 3, log scale).
    EXPECT_NE(gp.find("$s4096 using 1:2"), std::string::npos);
    EXPECT_NE(gp.find("$s4096 using 1:3"), std::string::npos);
    EXPECT_LT(gp.find("using 1:2"), gp.find("set logscale y"));
    EXPECT_LT(gp.find("set logscale y"), gp.find("using 1:3"));
}

TEST(sweep, gnuplot_against_block_size_when_only_it_varies) {
    std::vector<run_summary> pts = {point(4096, 8, 50, 100'000), point(65536, 8, 300, 900'000)};
    std::string gp = gnuplot_script(pts, "t", "o.svg");
    EXPECT_NE(gp.find("xlabel 'block size (KiB)'"), std::string::npos);
    // One series (qd 8), x in KiB.
    EXPECT_NE(gp.find("$s8 << EOD\n4 50.000 "), std::string::npos) << gp;
    EXPECT_NE(gp.find("\n64 300.000 "), std::string::npos);
    EXPECT_NE(gp.find("title 'qd 8'"), std::string::npos);
}
