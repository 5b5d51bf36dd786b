// Feeds arbitrary UTF-16LE names to the SMB name validator and resolver against a
// temporary share that holds a symlink to /etc and a sibling secret file: whatever the
// name, resolution must stay beneath the share root.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/ntstatus.hh"
#include "dataplane/vfs/share_path.hh"

namespace {

std::string g_base;

struct fixture {
    std::string root;
    smbx::vfs::unique_fd root_fd;
    struct stat secret {};
    struct stat etc {};

    fixture() {
        char tmpl[] = "/tmp/smbx-pathfuzz-XXXXXX";
        if (!::mkdtemp(tmpl)) {
            std::abort();
        }
        std::string base = tmpl;
        g_base = base;
        std::atexit([] { std::filesystem::remove_all(g_base); });
        root = base + "/share";
        ::mkdir(root.c_str(), 0755);
        ::mkdir((root + "/Dir").c_str(), 0755);
        ::close(::open((root + "/Dir/File.txt").c_str(), O_CREAT | O_WRONLY, 0644));
        ::close(::open((base + "/secret").c_str(), O_CREAT | O_WRONLY, 0644));
        (void)::symlink("/etc", (root + "/etc_link").c_str());
        (void)::symlink("../../secret", (root + "/Dir/up").c_str());
        ::stat((base + "/secret").c_str(), &secret);
        ::stat("/etc", &etc);
        root_fd = smbx::vfs::open_share_root(root);
    }
};

bool same(const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static fixture fx;
    smbx::byte_span name(data, size);
    for (bool leading : {false, true}) {
        auto p = smbx::vfs::parse_smb_name(name, {.allow_leading_separator = leading});
        if (p.status != smbx::status::success) {
            continue;
        }
        for (const auto& c : p.name.components) {
            if (c.empty() || c == "." || c == ".." || c.find('/') != std::string::npos ||
                c.find('\0') != std::string::npos) {
                std::abort(); // the validator let a dangerous component through
            }
        }
        auto r = smbx::vfs::resolve(fx.root_fd.get(), p.name);
        if (r.status == smbx::status::success && r.exists) {
            if (same(r.st, fx.secret) || same(r.st, fx.etc) || S_ISLNK(r.st.st_mode)) {
                std::abort(); // escaped the share
            }
        }
    }
    return 0;
}
