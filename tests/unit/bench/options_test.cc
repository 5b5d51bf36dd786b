// smbx-bench's command line and its load's offset generator.
#include "bench/smbx_bench/options.hh"

#include <set>

#include <gtest/gtest.h>

#include "bench/smbx_bench/load.hh"

using namespace smbx::bench;

TEST(options, sizes_and_durations) {
    EXPECT_EQ(parse_size("4k"), 4096u);
    EXPECT_EQ(parse_size("8M"), 8u << 20);
    EXPECT_EQ(parse_size("1g"), 1ull << 30);
    EXPECT_EQ(parse_size("512"), 512u);
    EXPECT_EQ(parse_size("1KB"), 1024u);
    EXPECT_FALSE(parse_size("k"));
    EXPECT_FALSE(parse_size("4x"));
    EXPECT_EQ(parse_duration("10"), 10.0);
    EXPECT_EQ(parse_duration("500ms"), 0.5);
    EXPECT_EQ(parse_duration("2m"), 120.0);
    EXPECT_FALSE(parse_duration("soon"));
}

TEST(options, full_command_line) {
    auto o = parse_options({"//srv/data", "-U",        "alice%CORP", "--rw",   "randrw",
                            "--bs",       "64k",       "--iodepth",  "32",     "--connections",
                            "6",          "--threads", "3",          "--size", "1g",
                            "--duration", "5s",        "--encrypt",  "--sign", "--port",
                            "4450",       "--json",    "--verify"});
    EXPECT_EQ(o.client.host, "srv");
    EXPECT_EQ(o.client.share, "data");
    EXPECT_EQ(o.client.user, "alice");
    EXPECT_EQ(o.client.domain, "CORP");
    EXPECT_EQ(o.rw, rw_mode::randrw);
    EXPECT_EQ(o.block_size, 65536u);
    EXPECT_EQ(o.iodepth, 32u);
    EXPECT_EQ(o.connections, 6u);
    EXPECT_EQ(o.threads, 3u);
    EXPECT_EQ(o.size, 1ull << 30);
    EXPECT_EQ(o.duration, 5.0);
    EXPECT_TRUE(o.client.encrypt && o.client.sign && o.json && o.verify);
    EXPECT_EQ(o.client.port, 4450);
}

TEST(options, errors_are_refused) {
    EXPECT_THROW(parse_options({"-U", "a"}), std::invalid_argument);
    EXPECT_THROW(parse_options({"//srv/data"}), std::invalid_argument);
    EXPECT_THROW(parse_options({"//srv", "-U", "a"}), std::invalid_argument);
    EXPECT_THROW(parse_options({"//srv/d", "-U", "a", "--bs", "3k"}), std::invalid_argument);
    EXPECT_THROW(parse_options({"//srv/d", "-U", "a", "--bs", "16m"}), std::invalid_argument);
    EXPECT_THROW(parse_options({"//srv/d", "-U", "a", "--rw", "trim"}), std::invalid_argument);
    EXPECT_THROW(parse_options({"//srv/d", "-U", "a", "--iodepth", "0"}), std::invalid_argument);
    EXPECT_THROW(parse_options({"//srv/d", "-U", "a", "--bogus"}), std::invalid_argument);
    EXPECT_THROW(parse_options({"//srv/d", "-U", "a", "--size", "4k", "--bs", "8k"}),
                 std::invalid_argument);
    EXPECT_THROW(parse_options({"//srv/d", "-U", "a", "--oplock", "lease"}), std::invalid_argument);
}

TEST(options, oplock_levels_are_the_wire_values) {
    EXPECT_EQ(parse_options({"//s/d", "-U", "a"}).client.oplock_level, 0);
    EXPECT_EQ(parse_options({"//s/d", "-U", "a", "--oplock", "ii"}).client.oplock_level, 0x01);
    EXPECT_EQ(parse_options({"//s/d", "-U", "a", "--oplock", "exclusive"}).client.oplock_level,
              0x08);
    EXPECT_EQ(parse_options({"//s/d", "-U", "a", "--oplock", "batch"}).client.oplock_level, 0x09);
}

TEST(options, connections_are_in_all_and_threads_share_them) {
    auto one = parse_options({"//s/d", "-U", "a"});
    EXPECT_EQ(one.connections, 1u);
    EXPECT_EQ(one.threads, 1u);
    // --threads alone: a connection for each thread.
    auto t4 = parse_options({"//s/d", "-U", "a", "--threads", "4"});
    EXPECT_EQ(t4.connections, 4u);
    auto c8 = parse_options({"//s/d", "-U", "a", "--connections", "8", "--threads", "2"});
    EXPECT_EQ(c8.connections, 8u);
    EXPECT_EQ(c8.threads, 2u);
    EXPECT_THROW(parse_options({"//s/d", "-U", "a", "--connections", "2", "--threads", "3"}),
                 std::invalid_argument);
}

TEST(options, io_size_defaults_to_the_file_size) {
    auto o = parse_options({"//s/d", "-U", "a", "--size", "512m"});
    EXPECT_EQ(o.io_size, 512u << 20);
    auto p = parse_options({"//s/d", "-U", "a", "--size", "512m", "--io-size", "64g"});
    EXPECT_EQ(p.size, 512u << 20);
    EXPECT_EQ(p.io_size, 64ull << 30);
    EXPECT_THROW(parse_options({"//s/d", "-U", "a", "--io-size", "0"}), std::invalid_argument);
}

TEST(options, ops_bound_zero_allowed) {
    EXPECT_EQ(parse_options({"//s/d", "-U", "a"}).max_ops, UINT64_MAX);
    EXPECT_EQ(parse_options({"//s/d", "-U", "a", "--ops", "20000"}).max_ops, 20000u);
    EXPECT_EQ(parse_options({"//s/d", "-U", "a", "--ops", "0"}).max_ops, 0u);
    EXPECT_THROW(parse_options({"//s/d", "-U", "a", "--ops", "many"}), std::invalid_argument);
}

TEST(options, flush_every_counts_writes) {
    EXPECT_EQ(parse_options({"//s/d", "-U", "a"}).flush_every, 0u);
    EXPECT_EQ(parse_options({"//s/d", "-U", "a", "--flush-every", "8"}).flush_every, 8u);
    EXPECT_THROW(parse_options({"//s/d", "-U", "a", "--flush-every", "0"}), std::invalid_argument);
    EXPECT_THROW(parse_options({"//s/d", "-U", "a", "--flush-every", "x"}), std::invalid_argument);
}

TEST(options, create_mode_and_its_files) {
    auto o = parse_options({"//s/d", "-U", "a", "--rw", "create", "--files", "100"});
    EXPECT_EQ(o.rw, rw_mode::create);
    EXPECT_STREQ(rw_name(o.rw), "create");
    EXPECT_EQ(o.files, 100u);
    EXPECT_EQ(parse_options({"//s/d", "-U", "a"}).files, 1u);
    EXPECT_THROW(parse_options({"//s/d", "-U", "a", "--files", "0"}), std::invalid_argument);
}

TEST(options, sweep_lists) {
    auto o = parse_options({"//s/d", "-U", "a", "--sweep", "bs=4k,64k,1m", "qd=1,8,32", "--size",
                            "8m", "--sweep-out", "/tmp/x"});
    EXPECT_TRUE(o.sweeping());
    EXPECT_EQ(o.sweep_bs, (std::vector<uint32_t>{4096, 65536, 1u << 20}));
    EXPECT_EQ(o.sweep_qd, (std::vector<uint32_t>{1, 8, 32}));
    EXPECT_EQ(o.size, 8u << 20); // the option after the lists is still parsed
    EXPECT_EQ(o.sweep_out, "/tmp/x");
    // One list alone; the other dimension is --iodepth.
    auto q = parse_options({"//s/d", "-U", "a", "--sweep", "qd=2,4", "--bs", "8k"});
    EXPECT_TRUE(q.sweep_bs.empty());
    EXPECT_EQ(q.sweep_qd, (std::vector<uint32_t>{2, 4}));
    EXPECT_FALSE(parse_options({"//s/d", "-U", "a"}).sweeping());
    // --size is checked against the largest swept block size, not the default --bs.
    EXPECT_NO_THROW(parse_options({"//s/d", "-U", "a", "--sweep", "bs=4k", "--size", "64k"}));
    EXPECT_THROW(parse_options({"//s/d", "-U", "a", "--sweep", "bs=4k,1m", "--size", "64k"}),
                 std::invalid_argument);
}

TEST(options, sweep_errors) {
    for (auto bad : {"bs=3k", "bs=4k,,8k", "bs=", "bs=16m", "qd=0", "qd=1,x", "qd=1,"}) {
        EXPECT_THROW(parse_options({"//s/d", "-U", "a", "--sweep", bad}), std::invalid_argument)
            << bad;
    }
    // --sweep needs at least one list.
    EXPECT_THROW(parse_options({"//s/d", "-U", "a", "--sweep"}), std::invalid_argument);
    EXPECT_THROW(parse_options({"//s/d", "-U", "a", "--sweep", "--json"}), std::invalid_argument);
    options o;
    EXPECT_FALSE(parse_sweep_term("iodepth=4", o));
    EXPECT_TRUE(o.sweep_qd.empty());
}

TEST(op_generator, sequential_wraps_at_the_file_size) {
    op_generator g(rw_mode::write, 4 * 4096, 4096, 1);
    for (uint64_t want : {0u, 4096u, 8192u, 12288u, 0u}) {
        auto op = g.next();
        EXPECT_EQ(op.offset, want);
        EXPECT_TRUE(op.is_write);
    }
}

TEST(op_generator, random_stays_aligned_and_in_range_and_mixes) {
    op_generator g(rw_mode::randrw, 1 << 20, 4096, 99);
    std::set<uint64_t> seen;
    int writes = 0;
    for (int i = 0; i < 4000; ++i) {
        auto op = g.next();
        EXPECT_EQ(op.offset % 4096, 0u);
        EXPECT_LT(op.offset, 1u << 20);
        seen.insert(op.offset);
        writes += op.is_write;
    }
    EXPECT_GT(seen.size(), 200u); // 256 blocks, nearly all visited
    EXPECT_GT(writes, 1600);
    EXPECT_LT(writes, 2400);
}

TEST(smb2_client, credit_charge_is_one_per_64k) {
    EXPECT_EQ(smb2_client::credit_charge(0), 1);
    EXPECT_EQ(smb2_client::credit_charge(4096), 1);
    EXPECT_EQ(smb2_client::credit_charge(65536), 1);
    EXPECT_EQ(smb2_client::credit_charge(65537), 2);
    EXPECT_EQ(smb2_client::credit_charge(8u << 20), 128);
}

TEST(options, transport_rdma_defaults_to_port_5445_and_sizes_its_buffers) {
    auto o = parse_options(
        {"//srv/s", "-U", "u", "--transport", "rdma", "--bs", "2m", "--iodepth", "16"});
    EXPECT_EQ(o.client.transport, transport_kind::rdma);
    EXPECT_EQ(o.client.port, 5445); // MS-SMBD's RDMA CM port, not 445
    EXPECT_EQ(o.client.rdma_threshold, 4096u);
    EXPECT_EQ(o.client.rdma_buffers, 16u);          // one per request in flight
    EXPECT_EQ(o.client.rdma_buffer_size, 2u << 20); // the block size
    // Shallow queues still cover the read modes' fill (4 x 1 MiB).
    auto f = parse_options({"//srv/s", "-U", "u", "--transport", "rdma", "--bs", "4k",
                            "--rdma-threshold", "64k", "--port", "445"});
    EXPECT_EQ(f.client.port, 445);
    EXPECT_EQ(f.client.rdma_threshold, 65536u);
    EXPECT_EQ(f.client.rdma_buffers, 4u);
    EXPECT_EQ(f.client.rdma_buffer_size, 1u << 20);
    // A sweep sizes them for its largest point.
    auto s = parse_options({"//srv/s", "-U", "u", "--transport", "rdma", "--size", "8m", "--sweep",
                            "bs=4k,4m", "qd=1,32"});
    EXPECT_EQ(s.client.rdma_buffers, 32u);
    EXPECT_EQ(s.client.rdma_buffer_size, 4u << 20);
    EXPECT_FALSE(f.client.rdma_invalidate);
    EXPECT_TRUE(parse_options({"//srv/s", "-U", "u", "--transport", "rdma", "--rdma-channel",
                               "v1-invalidate"})
                    .client.rdma_invalidate);
    EXPECT_THROW(parse_options({"//srv/s", "-U", "u", "--rdma-channel", "v2"}),
                 std::invalid_argument);
    EXPECT_EQ(parse_options({"//srv/s", "-U", "u"}).client.transport, transport_kind::tcp);
    EXPECT_THROW(parse_options({"//srv/s", "-U", "u", "--transport", "quic"}),
                 std::invalid_argument);
}
