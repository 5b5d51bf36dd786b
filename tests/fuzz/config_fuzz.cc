// libFuzzer target for the text smbx-control parses besides the network: the first
// byte picks the parser, the rest is its input.
//   0: the config file (config::parse). Whatever it reports, a value it took is one its
//      key allows, and a config without errors is one smbx-control can run.
//   1: the user database (`<private dir>/smbx-users`, user_db::load). A load that
//      fails keeps the previous users; one that succeeds holds exactly the file's
//      entries, each with a valid name.
//   2: the admin socket's command line (admin_socket::serve_one, over a real unix
//      socket): the handler sees the first line (a trailing CR dropped) when it is
//      shorter than the 256-byte limit, else nothing, and the client gets its answer.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.hh"
#include "control/admin_socket.hh"
#include "control/config.hh"
#include "control/user_db.hh"
#include "tests/fuzz/fuzz_check.hh"

using namespace smbx;
using smbx::fuzzing::check;

namespace {

constexpr size_t command_limit = 256; // admin_socket.cc: serve_one's read limit

struct world {
    std::string dir;
    std::unique_ptr<user_db> users;
    std::optional<admin_socket> admin;

    world() {
        log::set_level(-1);
        // tmpfs when there is one: rewriting a file on ext4 flushes it on close
        // (auto_da_alloc), which made the user database mode 50 times slower.
        std::string tmpl = access("/dev/shm", W_OK) == 0 ? "/dev/shm/smbx-fuzz-config-XXXXXX"
                                                         : "/tmp/smbx-fuzz-config-XXXXXX";
        dir = mkdtemp(tmpl.data());
        users = std::make_unique<user_db>(dir);
        write_users("alice:8846f7eaee8fb117ad06bdd830b7586c\n");
        check(!users->load() && users->size() == 1);
        auto opened = open_admin_socket(dir + "/admin.sock");
        check(opened.socket.has_value());
        admin = std::move(opened.socket);
    }

    // libFuzzer ends with exit(): no scratch directory stays behind.
    ~world() { std::filesystem::remove_all(dir); }

    void write_users(std::string_view text) const {
        FILE* f = fopen(users->file_path().c_str(), "wb");
        check(f != nullptr);
        check(fwrite(text.data(), 1, text.size(), f) == text.size());
        fclose(f);
    }
};

world& the_world() {
    static world w;
    return w;
}

bool absolute(const std::string& p) {
    return !p.empty() && p[0] == '/';
}

void fuzz_config(std::string_view text) {
    auto r = config::parse(text, "fuzz.conf");
    const auto& c = r.config;
    int lines = 1;
    for (char ch : text) {
        lines += ch == '\n';
    }
    for (const auto* list : {&r.errors, &r.warnings}) {
        for (const auto& d : *list) {
            check(d.line >= 0 && d.line <= lines && d.file == "fuzz.conf");
        }
    }
    // A value is only ever taken when its key allows it, errors or not (a list with a
    // bad entry may be left short, and a share keeps a bad path, with an error).
    check(!c.netbios_name.empty() && c.netbios_name.size() <= 15);
    check(!c.workgroup.empty() && c.workgroup.size() <= 15);
    for (uint16_t p : c.ports) {
        check(p != 0);
    }
    check(c.log_level >= 0 && c.log_level <= 10);
    check(c.workers <= 1024 && c.restrict_anonymous >= 0 && c.restrict_anonymous <= 2);
    check(c.buffer_pool_mib >= 16 && c.buffer_pool_mib <= 65536 && c.zero_copy_send <= 2);
    check(absolute(c.private_dir));
    std::set<std::string> names;
    for (const auto& s : c.shares) {
        std::string folded;
        for (char ch : s.name) {
            folded += char(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
        }
        check(names.insert(folded).second); // a repeated section is merged
        check(!s.name.empty() && s.name.size() <= 80 && !config::iequals(s.name, "IPC$"));
        check(s.name.find_first_of("\\/:*?\"<>|") == std::string::npos);
        check(c.find_share(s.name) == &s);
    }
    if (r.ok()) {
        check(!c.ports.empty() && !c.interfaces.empty() && !c.rdma_ports.empty());
        check(c.rdma_ports.size() <= std::size(dataplane_settings{}.rdma_ports));
        check(c.min_dialect <= c.max_dialect);
        for (const auto& s : c.shares) {
            check(absolute(s.path));
        }
    }
}

void fuzz_user_db(world& w, std::string_view text) {
    auto before = w.users->names();
    w.write_users(text);
    auto error = w.users->load();
    if (error) {
        check(w.users->names() == before); // the previous contents stay
        check(error->find(w.users->file_path()) == 0);
        return;
    }
    size_t entries = 0;
    for (size_t pos = 0; pos < text.size();) {
        size_t nl = text.find('\n', pos);
        size_t end = nl == std::string_view::npos ? text.size() : nl;
        entries += end > pos;
        pos = end + 1;
    }
    check(w.users->size() == entries);
    for (const auto& name : w.users->names()) {
        check(user_db::valid_name(name) && w.users->lookup(name).has_value());
    }
}

std::string answer_to(std::string_view cmd) {
    return cmd == "status" ? "status: fine\n"
                           : "error: unknown command '" + std::string(cmd) + "'\n";
}

void fuzz_admin_command(world& w, std::string_view input) {
    int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(c >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string path = w.admin->path();
    check(path.size() < sizeof a.sun_path);
    std::copy(path.begin(), path.end(), a.sun_path);
    check(connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    // Small enough for the socket buffer: one write, then EOF.
    check(write(c, input.data(), input.size()) == ssize_t(input.size()));
    shutdown(c, SHUT_WR);
    std::optional<std::string> seen;
    w.admin->serve_one([&](std::string_view cmd) {
        seen = std::string(cmd);
        return answer_to(cmd);
    });
    std::string answer;
    char buf[4096];
    for (ssize_t n; (n = read(c, buf, sizeof buf)) > 0;) {
        answer.append(buf, size_t(n));
    }
    close(c);

    size_t nl = input.find('\n');
    std::string_view line = input.substr(0, nl);
    bool taken = nl == std::string_view::npos ? input.size() < command_limit : nl < command_limit;
    check(seen.has_value() == taken);
    if (!taken) {
        check(answer.empty());
        return;
    }
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    check(*seen == line && answer == answer_to(line));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    world& w = the_world();
    std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 3) {
    case 0:
        fuzz_config(text);
        break;
    case 1:
        fuzz_user_db(w, text);
        break;
    default:
        fuzz_admin_command(w, text);
        break;
    }
    return 0;
}
