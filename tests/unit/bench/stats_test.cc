// smbx-bench's latency histogram: percentiles within the buckets' resolution.
#include "bench/smbx_bench/stats.hh"

#include <gtest/gtest.h>

using namespace smbx::bench;

TEST(latency_histogram, small_values_are_exact) {
    latency_histogram h;
    for (uint64_t v = 1; v <= 50; ++v) {
        h.record(v);
    }
    EXPECT_EQ(h.count(), 50u);
    EXPECT_EQ(h.min(), 1u);
    EXPECT_EQ(h.max(), 50u);
    EXPECT_DOUBLE_EQ(h.mean(), 25.5);
    EXPECT_EQ(h.percentile(50), 25u);
    EXPECT_EQ(h.percentile(100), 50u);
    EXPECT_EQ(h.percentile(0.1), 1u);
}

TEST(latency_histogram, percentiles_within_two_percent) {
    latency_histogram h;
    for (uint64_t v = 1; v <= 100000; ++v) {
        h.record(v * 1000); // 1 us .. 100 ms
    }
    for (double p : {50.0, 90.0, 99.0, 99.9}) {
        double want = p / 100 * 100000 * 1000;
        double got = double(h.percentile(p));
        EXPECT_GE(got, want * 0.999) << p;
        EXPECT_LE(got, want * 1.02) << p;
    }
    EXPECT_EQ(h.percentile(100), 100000u * 1000);
}

TEST(latency_histogram, buckets_cover_their_values) {
    for (uint64_t v : {0ull, 1ull, 63ull, 64ull, 65ull, 127ull, 128ull, 1000ull, 123456789ull,
                       (1ull << 40) + 12345, ~0ull}) {
        size_t b = latency_histogram::bucket_of(v);
        EXPECT_GE(latency_histogram::bucket_upper(b), v) << v;
        if (b > 0) {
            EXPECT_LT(latency_histogram::bucket_upper(b - 1), v) << v;
        }
    }
}

TEST(latency_histogram, merge_adds_counts_and_extremes) {
    latency_histogram a, b;
    a.record(10);
    a.record(20);
    b.record(5);
    b.record(1000);
    a.merge(b);
    EXPECT_EQ(a.count(), 4u);
    EXPECT_EQ(a.min(), 5u);
    EXPECT_EQ(a.max(), 1000u);
    EXPECT_EQ(a.percentile(50), 10u);
}

TEST(latency_histogram, empty_reports_zero) {
    latency_histogram h;
    EXPECT_EQ(h.percentile(99), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.mean(), 0);
}

TEST(run_summary, json_has_the_fields) {
    run_summary s;
    s.rw = "randread";
    s.seconds = 2;
    s.ops = 10;
    s.bytes = 40960;
    s.latency.record(1000);
    std::string j = format_json(s);
    EXPECT_NE(j.find("\"rw\":\"randread\""), std::string::npos);
    EXPECT_NE(j.find("\"iops\":5.0"), std::string::npos);
    EXPECT_NE(j.find("\"p99_9\":1000"), std::string::npos);
}
