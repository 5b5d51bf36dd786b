#include "bench/smbx_bench/options.hh"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace smbx::bench {

const char* usage_text =
    "usage: smbx-bench //HOST/SHARE -U USER[%DOMAIN] [options]\n"
    "  --rw read|write|randread|randwrite|randrw|create   (default read); create: each\n"
    "                     op a CREATE (open if; --oplock) and a CLOSE, measured together\n"
    "  --files N          --rw create: files per connection, opened in turn (default 1)\n"
    "  --oplock LEVEL     the oplock CREATE asks for: none (default), ii, exclusive, batch\n"
    "  --bs SIZE          block size, 4k..8m (default 1m)\n"
    "  --iodepth N        requests in flight per connection (default 1)\n"
    "  --connections N    connections in all (default: --threads, else 1)\n"
    "  --threads N        threads driving them, at most N connections (default 1);\n"
    "                     connection i belongs to thread i mod N\n"
    "  --size SIZE        per connection: file size (default 64m)\n"
    "  --io-size SIZE     per connection: bytes to move at most (default --size;\n"
    "                     sequential modes wrap around the file)\n"
    "  --ops N            per connection: at most N timed requests (0: set up only)\n"
    "  --duration T       time bound, e.g. 10, 10s, 500ms (default 10s)\n"
    "  --encrypt --sign   encrypt / sign every request (3.1.1: AES-128-GCM, AES-GMAC)\n"
    "  --dialect 3.1.1|3.0.2|2.1   highest dialect offered (default 3.1.1)\n"
    "  --port P           TCP port (default 445), or RDMA CM port (default 5445)\n"
    "  --transport tcp|rdma   Direct TCP (default) or SMB Direct (MS-SMBD over RDMA):\n"
    "                     READs and WRITEs above --rdma-threshold then move their data\n"
    "                     by RDMA to and from buffers registered once per connection\n"
    "  --rdma-threshold SIZE  largest READ/WRITE sent inline over SMB Direct (default 4k)\n"
    "  --rdma-channel v1|v1-invalidate   SMB2_CHANNEL_RDMA_V1 (default: the buffers'\n"
    "                     registration key) or _V1_INVALIDATE (a memory window bound per\n"
    "                     request, invalidated by the server's reply)\n"
    "  --seed N           --verify pattern seed\n"
    "  --flush-every N    a FLUSH after every N WRITEs (in the window, untimed: the\n"
    "                     WRITE IOPS then include the syncs, as a database log's do)\n"
    "  --json             machine-readable summary on stdout\n"
    "  --verify           write a pattern of (offset, seed), check every byte read\n"
    "  --no-fill          read modes: read the files as they are (left by an earlier\n"
    "                     --verify run with the same --seed) instead of filling them\n"
    "  --sweep bs=LIST qd=LIST   one run per block size and queue depth, e.g.\n"
    "                     --sweep bs=4k,64k,1m qd=1,8,32 (a list left out is --bs or\n"
    "                     --iodepth); each run lasts --duration. Writes PREFIX.csv,\n"
    "                     PREFIX.gp and, with gnuplot, PREFIX.svg (MB/s and p99 latency)\n"
    "  --sweep-out PREFIX where the sweep's files go (default smbx-bench-sweep)\n"
    "The password is read from SMBX_BENCH_PASSWORD or, if unset, from standard input.\n";

std::optional<uint64_t> parse_size(const std::string& s) {
    if (s.empty() || !std::isdigit(uint8_t(s[0]))) {
        return std::nullopt;
    }
    size_t pos = 0;
    uint64_t v = std::stoull(s, &pos);
    std::string suffix = s.substr(pos);
    for (auto& c : suffix) {
        c = char(std::tolower(uint8_t(c)));
    }
    if (suffix.size() == 2 && suffix[1] == 'b') {
        suffix.pop_back();
    }
    uint64_t mult = 1;
    if (suffix == "k") {
        mult = 1ull << 10;
    } else if (suffix == "m") {
        mult = 1ull << 20;
    } else if (suffix == "g") {
        mult = 1ull << 30;
    } else if (suffix == "t") {
        mult = 1ull << 40;
    } else if (!suffix.empty() && suffix != "b") {
        return std::nullopt;
    }
    return v * mult;
}

std::optional<double> parse_duration(const std::string& s) {
    if (s.empty() || !(std::isdigit(uint8_t(s[0])) || s[0] == '.')) {
        return std::nullopt;
    }
    size_t pos = 0;
    double v = std::stod(s, &pos);
    std::string suffix = s.substr(pos);
    if (suffix.empty() || suffix == "s") {
        return v;
    }
    if (suffix == "ms") {
        return v / 1000;
    }
    if (suffix == "m") {
        return v * 60;
    }
    if (suffix == "h") {
        return v * 3600;
    }
    return std::nullopt;
}

std::optional<uint32_t> parse_block_size(const std::string& s) {
    auto n = parse_size(s);
    if (!n || *n < 4096 || *n > (8u << 20) || *n % 4096) {
        return std::nullopt;
    }
    return uint32_t(*n);
}

bool parse_sweep_term(const std::string& term, options& o) {
    bool bs = term.rfind("bs=", 0) == 0;
    bool qd = term.rfind("qd=", 0) == 0;
    if (!bs && !qd) {
        return false;
    }
    std::vector<uint32_t> values;
    std::string list = term.substr(3);
    size_t start = 0;
    for (;;) {
        size_t comma = list.find(',', start);
        std::string item = list.substr(start, comma == std::string::npos ? comma : comma - start);
        std::optional<uint64_t> v =
            bs ? std::optional<uint64_t>(parse_block_size(item)) : parse_size(item);
        if (!v || *v == 0 || *v > UINT32_MAX) {
            throw std::invalid_argument("--sweep: bad value '" + item + "' in '" + term +
                                        (bs ? "' (block sizes: multiples of 4k in 4k..8m)"
                                            : "' (queue depths: positive numbers)"));
        }
        values.push_back(uint32_t(*v));
        if (comma == std::string::npos) {
            break;
        }
        start = comma + 1;
    }
    (bs ? o.sweep_bs : o.sweep_qd) = values;
    return true;
}

std::optional<rw_mode> parse_rw(const std::string& s) {
    for (rw_mode m : {rw_mode::read, rw_mode::write, rw_mode::randread, rw_mode::randwrite,
                      rw_mode::randrw, rw_mode::create}) {
        if (s == rw_name(m)) {
            return m;
        }
    }
    return std::nullopt;
}

const char* rw_name(rw_mode m) {
    switch (m) {
    case rw_mode::read:
        return "read";
    case rw_mode::write:
        return "write";
    case rw_mode::randread:
        return "randread";
    case rw_mode::randwrite:
        return "randwrite";
    case rw_mode::randrw:
        return "randrw";
    case rw_mode::create:
        return "create";
    }
    return "?";
}

namespace {

uint32_t positive_u32(const std::string& opt, const std::string& v) {
    auto n = parse_size(v);
    if (!n || *n == 0 || *n > UINT32_MAX) {
        throw std::invalid_argument(opt + ": expected a positive number, got '" + v + "'");
    }
    return uint32_t(*n);
}

} // namespace

options parse_options(const std::vector<std::string>& args) {
    options o;
    bool have_target = false;
    bool connections_given = false;
    bool port_given = false;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&]() -> const std::string& {
            if (i + 1 >= args.size()) {
                throw std::invalid_argument(a + " needs a value");
            }
            return args[++i];
        };
        try {
            if (a == "-U" || a == "--user") {
                std::string u = value();
                auto pct = u.find('%');
                if (pct != std::string::npos) {
                    o.client.domain = u.substr(pct + 1);
                    u.resize(pct);
                }
                o.client.user = u;
            } else if (a == "--rw") {
                auto m = parse_rw(value());
                if (!m) {
                    throw std::invalid_argument("--rw: expected read, write, randread, "
                                                "randwrite, randrw or create");
                }
                o.rw = *m;
            } else if (a == "--bs") {
                auto n = parse_block_size(value());
                if (!n) {
                    throw std::invalid_argument("--bs: expected a multiple of 4k in 4k..8m");
                }
                o.block_size = *n;
            } else if (a == "--iodepth") {
                o.iodepth = positive_u32(a, value());
            } else if (a == "--connections") {
                o.connections = positive_u32(a, value());
                connections_given = true;
            } else if (a == "--threads") {
                o.threads = positive_u32(a, value());
            } else if (a == "--io-size") {
                auto n = parse_size(value());
                if (!n || *n == 0) {
                    throw std::invalid_argument("--io-size: expected a size such as 8g");
                }
                o.io_size = *n;
            } else if (a == "--ops") {
                auto n = parse_size(value());
                if (!n) {
                    throw std::invalid_argument("--ops: expected a number");
                }
                o.max_ops = *n;
            } else if (a == "--sweep") {
                size_t terms = 0;
                while (i + 1 < args.size() && parse_sweep_term(args[i + 1], o)) {
                    ++i;
                    ++terms;
                }
                if (!terms) {
                    throw std::invalid_argument("--sweep: expected bs=LIST and/or qd=LIST");
                }
            } else if (a == "--sweep-out") {
                o.sweep_out = value();
            } else if (a == "--size") {
                auto n = parse_size(value());
                if (!n || *n == 0) {
                    throw std::invalid_argument("--size: expected a size such as 64m");
                }
                o.size = *n;
            } else if (a == "--duration") {
                auto d = parse_duration(value());
                if (!d || *d <= 0) {
                    throw std::invalid_argument("--duration: expected a time such as 10s");
                }
                o.duration = *d;
            } else if (a == "--port") {
                uint32_t p = positive_u32(a, value());
                if (p > 65535) {
                    throw std::invalid_argument("--port: out of range");
                }
                o.client.port = uint16_t(p);
                port_given = true;
            } else if (a == "--transport") {
                std::string t = value();
                if (t == "tcp") {
                    o.client.transport = transport_kind::tcp;
                } else if (t == "rdma") {
                    o.client.transport = transport_kind::rdma;
                } else {
                    throw std::invalid_argument("--transport: expected tcp or rdma");
                }
            } else if (a == "--rdma-channel") {
                std::string c = value();
                if (c != "v1" && c != "v1-invalidate") {
                    throw std::invalid_argument("--rdma-channel: expected v1 or v1-invalidate");
                }
                o.client.rdma_invalidate = c == "v1-invalidate";
            } else if (a == "--rdma-threshold") {
                auto n = parse_size(value());
                if (!n || *n > UINT32_MAX) {
                    throw std::invalid_argument("--rdma-threshold: expected a size such as 4k");
                }
                o.client.rdma_threshold = uint32_t(*n);
            } else if (a == "--dialect") {
                std::string d = value();
                if (d == "3.1.1") {
                    o.client.max_dialect = smb2::dialect_311;
                } else if (d == "3.0.2") {
                    o.client.max_dialect = smb2::dialect_302;
                } else if (d == "3.0") {
                    o.client.max_dialect = smb2::dialect_300;
                } else if (d == "2.1") {
                    o.client.max_dialect = smb2::dialect_210;
                } else {
                    throw std::invalid_argument("--dialect: expected 3.1.1, 3.0.2, 3.0 or 2.1");
                }
            } else if (a == "--oplock") {
                std::string l = value();
                if (l == "none") {
                    o.client.oplock_level = 0x00;
                } else if (l == "ii") {
                    o.client.oplock_level = 0x01;
                } else if (l == "exclusive") {
                    o.client.oplock_level = 0x08;
                } else if (l == "batch") {
                    o.client.oplock_level = 0x09;
                } else {
                    throw std::invalid_argument("--oplock: expected none, ii, exclusive or batch");
                }
            } else if (a == "--files") {
                unsigned long n = std::stoul(value(), nullptr, 0);
                if (n == 0 || n > 1000000) {
                    throw std::invalid_argument("--files: expected 1 to 1000000");
                }
                o.files = uint32_t(n);
            } else if (a == "--flush-every") {
                unsigned long n = std::stoul(value(), nullptr, 0);
                if (n == 0 || n > UINT32_MAX) {
                    throw std::invalid_argument("--flush-every: expected a count of 1 or more");
                }
                o.flush_every = uint32_t(n);
            } else if (a == "--seed") {
                o.seed = std::stoull(value(), nullptr, 0);
            } else if (a == "--encrypt") {
                o.client.encrypt = true;
            } else if (a == "--sign") {
                o.client.sign = true;
            } else if (a == "--json") {
                o.json = true;
            } else if (a == "--verify") {
                o.verify = true;
            } else if (a == "--no-fill") {
                o.fill = false;
            } else if (!a.empty() && a[0] != '-' && !have_target) {
                // //HOST/SHARE (or \\HOST\SHARE)
                std::string t = a;
                for (auto& c : t) {
                    c = c == '\\' ? '/' : c;
                }
                if (t.rfind("//", 0) != 0) {
                    throw std::invalid_argument("expected //HOST/SHARE, got '" + a + "'");
                }
                auto slash = t.find('/', 2);
                if (slash == std::string::npos || slash == 2 || slash + 1 == t.size()) {
                    throw std::invalid_argument("expected //HOST/SHARE, got '" + a + "'");
                }
                o.client.host = t.substr(2, slash - 2);
                o.client.share = t.substr(slash + 1);
                have_target = true;
            } else {
                throw std::invalid_argument("unknown argument '" + a + "'");
            }
        } catch (const std::out_of_range&) {
            throw std::invalid_argument(a + ": value out of range");
        }
    }
    if (!have_target) {
        throw std::invalid_argument("missing //HOST/SHARE");
    }
    if (o.client.user.empty()) {
        throw std::invalid_argument("missing -U USER");
    }
    if (o.io_size == 0) {
        o.io_size = o.size;
    }
    if (!connections_given) {
        o.connections = o.threads; // "--threads 4" alone: a connection for each
    }
    if (o.threads > o.connections) {
        throw std::invalid_argument("--threads must not exceed --connections");
    }
    uint32_t largest_bs = o.sweep_bs.empty() ? o.block_size : 0;
    for (uint32_t bs : o.sweep_bs) {
        largest_bs = std::max(largest_bs, bs);
    }
    if (o.size < largest_bs) {
        throw std::invalid_argument("--size must be at least --bs (every swept one)");
    }
    if (o.client.transport == transport_kind::rdma) {
        if (!port_given) {
            o.client.port = 5445; // MS-SMBD 2.1: the port an iWARP-style client tries first
        }
        // A registered buffer for each request in flight: iodepth (every swept one), and
        // the read modes' fill, which writes 1 MiB chunks 4 deep (connection_load.cc).
        uint32_t depth = std::max<uint32_t>(o.iodepth, 4);
        for (uint32_t qd : o.sweep_qd) {
            depth = std::max(depth, qd);
        }
        o.client.rdma_buffers = depth;
        o.client.rdma_buffer_size = std::max<uint32_t>(largest_bs, 1u << 20);
    }
    return o;
}

} // namespace smbx::bench
