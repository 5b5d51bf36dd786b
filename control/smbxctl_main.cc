// smbxctl: manage smbx users and look at a running server.
//   smbxctl [--config FILE] user add NAME      password: one line on standard input
//   smbxctl [--config FILE] user passwd NAME   password: one line on standard input
//   smbxctl [--config FILE] user del NAME
//   smbxctl [--config FILE] user list
//   smbxctl [--config FILE] status [--json]    sessions and open files (admin socket)
//   smbxctl [--config FILE] metrics            Prometheus exposition (admin socket)
// Exit status 0 on success, 1 with a message on standard error otherwise.
#include <cstdio>
#include <iostream>
#include <string>
#include <unistd.h>
#include <vector>

#include <openssl/crypto.h>

#include "control/admin_socket.hh"
#include "control/auth/nt_hash.hh"
#include "control/config.hh"
#include "control/user_db.hh"

namespace {

int usage() {
    std::fprintf(stderr, "usage: smbxctl [--config FILE] user add|passwd|del NAME\n"
                         "       smbxctl [--config FILE] user list\n"
                         "       smbxctl [--config FILE] status [--json]\n"
                         "       smbxctl [--config FILE] metrics\n");
    return 1;
}

int fail(const std::string& message) {
    std::fprintf(stderr, "smbxctl: %s\n", message.c_str());
    return 1;
}

// One line from standard input, without its line ending. The caller wipes it.
std::optional<std::string> read_password() {
    if (isatty(0)) {
        std::fprintf(stderr, "Password: ");
    }
    std::string line;
    if (!std::getline(std::cin, line) && line.empty()) {
        return std::nullopt;
    }
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    return line;
}

int user_command(smbx::user_db& db, const std::string& verb, const std::vector<std::string>& rest) {
    if (verb == "list" && rest.empty()) {
        if (auto e = db.load()) {
            return fail(*e);
        }
        for (const auto& n : db.names()) {
            std::printf("%s\n", n.c_str());
        }
        return 0;
    }
    if (rest.size() != 1) {
        return usage();
    }
    const std::string& name = rest[0];
    smbx::user_db::error e;
    if (verb == "del") {
        e = db.remove(name);
    } else if (verb == "add" || verb == "passwd") {
        if (verb == "add" && !smbx::user_db::valid_name(name)) {
            return fail("invalid user name '" + name + "'");
        }
        auto password = read_password();
        if (!password) {
            return fail("no password on standard input");
        }
        auto hash = smbx::auth::compute_nt_hash(*password);
        OPENSSL_cleanse(password->data(), password->size());
        e = verb == "add" ? db.add(name, hash) : db.set_hash(name, hash);
        OPENSSL_cleanse(hash.data(), hash.size());
    } else {
        return usage();
    }
    if (e) {
        return fail(*e);
    }
    return 0;
}

// Sends an admin command and prints its answer (an "error:" answer to stderr).
int admin_command(const smbx::config::server_config& cfg, const std::string& command) {
    auto answer =
        smbx::admin_request(cfg.private_dir + "/smbx-admin.sock", command, std::chrono::seconds(5));
    if (!answer.ok) {
        return fail(answer.text);
    }
    if (answer.text.rfind("error:", 0) == 0) {
        std::fputs(answer.text.c_str(), stderr);
        return 1;
    }
    std::fputs(answer.text.c_str(), stdout);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string config_path;
    if (args.size() >= 2 && args[0] == "--config") {
        config_path = args[1];
        args.erase(args.begin(), args.begin() + 2);
    }
    if (args.empty() || args[0] == "--help" || args[0] == "-h") {
        return usage();
    }
    auto loaded =
        config_path.empty() ? smbx::config::load_default() : smbx::config::load_file(config_path);
    for (const auto& d : loaded.errors) {
        std::fprintf(stderr, "error: %s\n", d.to_string().c_str());
    }
    if (!loaded.ok()) {
        return 1;
    }
    const auto& cfg = loaded.config;

    if (args[0] == "user" && args.size() >= 2) {
        smbx::user_db db(cfg.private_dir);
        return user_command(db, args[1], {args.begin() + 2, args.end()});
    }
    if (args[0] == "status" && args.size() == 1) {
        return admin_command(cfg, "status");
    }
    if (args[0] == "status" && args.size() == 2 && args[1] == "--json") {
        return admin_command(cfg, "status json");
    }
    if (args[0] == "metrics" && args.size() == 1) {
        return admin_command(cfg, "metrics");
    }
    return usage();
}
