#include "bench/smbx_bench/sweep.hh"

#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace smbx::bench {

std::vector<std::pair<uint32_t, uint32_t>> sweep_grid(const options& o) {
    std::vector<uint32_t> bss = o.sweep_bs.empty() ? std::vector{o.block_size} : o.sweep_bs;
    std::vector<uint32_t> qds = o.sweep_qd.empty() ? std::vector{o.iodepth} : o.sweep_qd;
    std::vector<std::pair<uint32_t, uint32_t>> grid;
    for (uint32_t bs : bss) {
        for (uint32_t qd : qds) {
            grid.emplace_back(bs, qd);
        }
    }
    return grid;
}

std::string size_label(uint32_t bytes) {
    if (bytes % (1u << 20) == 0) {
        return std::to_string(bytes >> 20) + "m";
    }
    if (bytes % (1u << 10) == 0) {
        return std::to_string(bytes >> 10) + "k";
    }
    return std::to_string(bytes);
}

std::string csv_header() {
    return "rw,bs,iodepth,connections,threads,dialect,signing,encryption,seconds,ops,errors,"
           "mismatches,mb_per_s,iops,lat_min_us,lat_mean_us,lat_p50_us,lat_p99_us,"
           "lat_p99_9_us,lat_max_us,cpu_user_s,cpu_system_s\n";
}

std::string csv_row(const run_summary& s, uint32_t threads) {
    double secs = s.seconds > 0 ? s.seconds : 1e-9;
    const auto& l = s.latency;
    auto us = [](double ns) { return ns / 1000.0; };
    char buf[768];
    snprintf(buf, sizeof(buf),
             "%s,%u,%u,%u,%u,%s,%d,%d,%.3f,%llu,%llu,%llu,%.3f,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,"
             "%.1f,%.3f,%.3f\n",
             s.rw.c_str(), s.block_size, s.iodepth, s.connections, threads, s.dialect.c_str(),
             int(s.signing), int(s.encryption), s.seconds, (unsigned long long)s.ops,
             (unsigned long long)s.errors, (unsigned long long)s.mismatches,
             double(s.bytes) / secs / 1e6, double(s.ops) / secs, us(double(l.min())), us(l.mean()),
             us(double(l.percentile(50))), us(double(l.percentile(99))),
             us(double(l.percentile(99.9))), us(double(l.max())), s.cpu_user, s.cpu_system);
    return buf;
}

namespace {

// A gnuplot single-quoted string: a quote inside is doubled.
std::string quoted(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        q += c == '\'' ? std::string("''") : std::string(1, c);
    }
    return q + "'";
}

} // namespace

std::string gnuplot_script(const std::vector<run_summary>& points, const std::string& title,
                           const std::string& svg_path) {
    std::set<uint32_t> bss, qds;
    for (const auto& p : points) {
        bss.insert(p.block_size);
        qds.insert(p.iodepth);
    }
    // The x axis is the queue depth unless only the block size varies.
    bool by_qd = qds.size() > 1 || bss.size() == 1;
    // series key -> rows "x MB/s p99_us", in x order
    std::map<uint32_t, std::map<uint32_t, std::string>> series;
    for (const auto& p : points) {
        double secs = p.seconds > 0 ? p.seconds : 1e-9;
        char row[128];
        uint32_t x = by_qd ? p.iodepth : p.block_size / 1024;
        snprintf(row, sizeof(row), "%u %.3f %.1f\n", x, double(p.bytes) / secs / 1e6,
                 double(p.latency.percentile(99)) / 1000.0);
        series[by_qd ? p.block_size : p.iodepth][x] = row;
    }
    std::string gp = "# smbx-bench --sweep\n";
    gp += "set terminal svg size 1100,450 dynamic enhanced font 'sans,11' background 'white'\n";
    gp += "set output " + quoted(svg_path) + "\n";
    for (const auto& [key, rows] : series) {
        gp += "$s" + std::to_string(key) + " << EOD\n";
        for (const auto& [x, row] : rows) {
            gp += row;
        }
        gp += "EOD\n";
    }
    gp += "set multiplot layout 1,2 title " + quoted(title) + "\n";
    gp += "set grid\nset key top left\nset logscale x 2\n";
    gp += by_qd ? "set xlabel 'queue depth (requests in flight per connection)'\n"
                : "set xlabel 'block size (KiB)'\n";
    auto plot = [&](int column) {
        std::string line = "plot ";
        bool first = true;
        for (const auto& [key, rows] : series) {
            line += first ? "" : ", ";
            first = false;
            std::string name = by_qd ? "bs " + size_label(key) : "qd " + std::to_string(key);
            line += "$s" + std::to_string(key) + " using 1:" + std::to_string(column) +
                    " with linespoints title '" + name + "'";
        }
        return line + "\n";
    };
    gp += "set title 'throughput'\nset ylabel 'MB/s'\nset yrange [0:*]\n" + plot(2);
    gp += "set title 'p99 latency'\nset ylabel 'p99 latency (us)'\nset autoscale y\n"
          "set logscale y 10\n" +
          plot(3);
    gp += "unset multiplot\n";
    return gp;
}

namespace {

bool write_file(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::trunc);
    f << text;
    return bool(f.flush());
}

// gnuplot SCRIPT; false (with a note) if it is not installed or fails.
bool run_gnuplot(const std::string& script_path) {
    std::string prog = "gnuplot";
    char* argv[] = {prog.data(), const_cast<char*>(script_path.c_str()), nullptr};
    pid_t pid;
    if (posix_spawnp(&pid, "gnuplot", nullptr, nullptr, argv, environ) != 0) {
        fprintf(stderr,
                "smbx-bench: gnuplot not found (Debian: apt-get install gnuplot-nox); "
                "run 'gnuplot %s' later for the plot\n",
                script_path.c_str());
        return false;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "smbx-bench: gnuplot %s failed\n", script_path.c_str());
        return false;
    }
    return true;
}

} // namespace

int run_sweep(const options& o, const std::function<void(const live_counters&, double)>& tick) {
    std::string csv = csv_header();
    std::vector<run_summary> done;
    int rc = 0;
    bool first = true;
    for (auto [bs, qd] : sweep_grid(o)) {
        options p = o;
        p.block_size = bs;
        p.iodepth = qd;
        // The first run's fill covers --size for every block size after it.
        p.fill = o.fill && first;
        first = false;
        load_result r = run_load(p, tick);
        if (!r.error.empty()) {
            fprintf(stderr, "smbx-bench: bs=%s qd=%u: %s\n", size_label(bs).c_str(), qd,
                    r.error.c_str());
            rc = 1;
            break;
        }
        for (const auto& m : r.mismatch_notes) {
            fprintf(stderr, "smbx-bench: verify: %s\n", m.c_str());
        }
        fputs((o.json ? format_json(r.summary) : format_human(r.summary)).c_str(), stdout);
        fflush(stdout);
        if (r.summary.mismatches || r.summary.errors) {
            rc = 3;
        }
        csv += csv_row(r.summary, std::min(o.threads, o.connections));
        done.push_back(std::move(r.summary));
    }
    std::string csv_path = o.sweep_out + ".csv", gp_path = o.sweep_out + ".gp",
                svg_path = o.sweep_out + ".svg";
    if (!write_file(csv_path, csv)) {
        fprintf(stderr, "smbx-bench: cannot write %s\n", csv_path.c_str());
        return 1;
    }
    fprintf(stderr, "smbx-bench: wrote %s (%zu runs)\n", csv_path.c_str(), done.size());
    if (done.empty()) {
        return rc ? rc : 1;
    }
    std::string title = std::string(rw_name(o.rw)) + ", " + std::to_string(o.connections) +
                        " connection(s), " + done.front().dialect +
                        (done.front().encryption ? " encrypted"
                         : done.front().signing  ? " signed"
                                                 : "");
    if (!write_file(gp_path, gnuplot_script(done, title, svg_path))) {
        fprintf(stderr, "smbx-bench: cannot write %s\n", gp_path.c_str());
        return 1;
    }
    if (run_gnuplot(gp_path)) {
        fprintf(stderr, "smbx-bench: wrote %s\n", svg_path.c_str());
    }
    return rc;
}

} // namespace smbx::bench
