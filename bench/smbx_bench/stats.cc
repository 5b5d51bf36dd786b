#include "bench/smbx_bench/stats.hh"

#include <algorithm>
#include <bit>
#include <cstdio>

namespace smbx::bench {

size_t latency_histogram::bucket_of(uint64_t ns) {
    if (ns < sub_count) {
        return size_t(ns);
    }
    size_t exp = size_t(63 - std::countl_zero(ns)); // >= sub_bits
    size_t shift = exp - sub_bits;
    size_t sub = size_t(ns >> shift) - sub_count;
    return (shift + 1) * sub_count + sub;
}

uint64_t latency_histogram::bucket_upper(size_t bucket) {
    if (bucket < sub_count) {
        return bucket;
    }
    size_t shift = bucket / sub_count - 1;
    uint64_t sub = bucket % sub_count + sub_count;
    return ((sub + 1) << shift) - 1;
}

void latency_histogram::record(uint64_t ns) {
    ++_buckets[bucket_of(ns)];
    ++_count;
    _sum += ns;
    _min = std::min(_min, ns);
    _max = std::max(_max, ns);
}

void latency_histogram::merge(const latency_histogram& o) {
    for (size_t i = 0; i < bucket_count; ++i) {
        _buckets[i] += o._buckets[i];
    }
    _count += o._count;
    _sum += o._sum;
    _min = std::min(_min, o._min);
    _max = std::max(_max, o._max);
}

uint64_t latency_histogram::percentile(double p) const {
    if (_count == 0) {
        return 0;
    }
    double want = p / 100.0 * double(_count);
    uint64_t rank = std::max<uint64_t>(1, uint64_t(want + 0.999999));
    uint64_t seen = 0;
    for (size_t i = 0; i < bucket_count; ++i) {
        seen += _buckets[i];
        if (seen >= rank) {
            return std::clamp(bucket_upper(i), min(), _max);
        }
    }
    return _max;
}

namespace {

std::string us(uint64_t ns) {
    char b[32];
    snprintf(b, sizeof(b), "%.1f", double(ns) / 1000.0);
    return b;
}

} // namespace

std::string format_human(const run_summary& s) {
    double secs = s.seconds > 0 ? s.seconds : 1e-9;
    char buf[1024];
    const auto& l = s.latency;
    snprintf(buf, sizeof(buf),
             "%s bs=%u iodepth=%u connections=%u dialect=%s%s%s\n"
             "  %.2f s: %llu ops (%llu read, %llu write), %.1f MB/s, %.0f IOPS, %llu errors\n"
             "  latency us: min %s mean %.1f p50 %s p99 %s p99.9 %s max %s\n"
             "  client CPU: %.2f s user, %.2f s system\n",
             s.rw.c_str(), s.block_size, s.iodepth, s.connections, s.dialect.c_str(),
             s.signing ? " signed" : "", s.encryption ? " encrypted" : "", s.seconds,
             (unsigned long long)s.ops, (unsigned long long)s.read_ops,
             (unsigned long long)s.write_ops, double(s.bytes) / secs / 1e6, double(s.ops) / secs,
             (unsigned long long)s.errors, us(l.min()).c_str(), l.mean() / 1000.0,
             us(l.percentile(50)).c_str(), us(l.percentile(99)).c_str(),
             us(l.percentile(99.9)).c_str(), us(l.max()).c_str(), s.cpu_user, s.cpu_system);
    std::string out = buf;
    if (s.smb_direct) {
        snprintf(buf, sizeof(buf),
                 "  SMB Direct: %llu READ/WRITE requests moved their data by RDMA\n",
                 (unsigned long long)s.rdma_ios);
        out += buf;
    }
    if (s.flushes) {
        snprintf(buf, sizeof(buf), "  %llu FLUSHes (%.0f a second)\n",
                 (unsigned long long)s.flushes, double(s.flushes) / secs);
        out += buf;
    }
    if (s.verified_bytes || s.mismatches) {
        snprintf(buf, sizeof(buf), "  verify: %llu bytes checked, %llu mismatches\n",
                 (unsigned long long)s.verified_bytes, (unsigned long long)s.mismatches);
        out += buf;
    }
    return out;
}

std::string format_json(const run_summary& s) {
    double secs = s.seconds > 0 ? s.seconds : 1e-9;
    const auto& l = s.latency;
    char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"rw\":\"%s\",\"bs\":%u,\"iodepth\":%u,\"connections\":%u,\"dialect\":\"%s\","
             "\"signing\":%s,\"encryption\":%s,\"seconds\":%.3f,\"ops\":%llu,"
             "\"read_ops\":%llu,\"write_ops\":%llu,\"bytes\":%llu,\"mb_per_s\":%.3f,"
             "\"iops\":%.1f,\"errors\":%llu,\"mismatches\":%llu,\"verified_bytes\":%llu,"
             "\"latency_ns\":{\"min\":%llu,\"mean\":%.0f,\"p50\":%llu,\"p99\":%llu,"
             "\"p99_9\":%llu,\"max\":%llu},\"cpu_user_s\":%.3f,\"cpu_system_s\":%.3f,"
             "\"transport\":\"%s\",\"rdma_ios\":%llu,\"flushes\":%llu}\n",
             s.rw.c_str(), s.block_size, s.iodepth, s.connections, s.dialect.c_str(),
             s.signing ? "true" : "false", s.encryption ? "true" : "false", s.seconds,
             (unsigned long long)s.ops, (unsigned long long)s.read_ops,
             (unsigned long long)s.write_ops, (unsigned long long)s.bytes,
             double(s.bytes) / secs / 1e6, double(s.ops) / secs, (unsigned long long)s.errors,
             (unsigned long long)s.mismatches, (unsigned long long)s.verified_bytes,
             (unsigned long long)l.min(), l.mean(), (unsigned long long)l.percentile(50),
             (unsigned long long)l.percentile(99), (unsigned long long)l.percentile(99.9),
             (unsigned long long)l.max(), s.cpu_user, s.cpu_system, s.smb_direct ? "rdma" : "tcp",
             (unsigned long long)s.rdma_ios, (unsigned long long)s.flushes);
    return buf;
}

} // namespace smbx::bench
