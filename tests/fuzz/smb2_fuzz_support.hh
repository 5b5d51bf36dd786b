// What the SMB2 engine fuzz targets (smb2_request_fuzz, smb2_negotiate_fuzz,
// smb2_command_fuzz, smb2_transform_fuzz) share: the process-wide stand-ins a connection
// needs (the data plane's settings and a control client on an in-process ring that
// nobody answers), a scratch share, and a connection that has negotiated 3.1.1 with a
// valid session and a tree connect on that share, each made once.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.hh"
#include "dataplane/control_client.hh"
#include "dataplane/smb2/connection.hh"
#include "tests/fuzz/fuzz_check.hh"

namespace smbx::smb2::fuzzing {

// Built once per process: a connection borrows these, so per-input setup is only the
// connection itself.
struct engine_world {
    control_channel channel;
    int wake_a = eventfd(0, 0);
    int wake_b = eventfd(0, 0);
    dataplane_settings settings;
    std::unique_ptr<control_client> control;

    engine_world() {
        log::set_level(-1);
        channel.create();
        control = std::make_unique<control_client>(channel, wake_a, wake_b);
        // No control plane answers: a call that needs one fails at once.
        control->set_timeout(std::chrono::milliseconds(0));
    }

    // Throws away what the engine sent towards the control plane. Nobody reads that
    // ring, and once it is full every control call waits for room (200 x 5 ms in
    // control_client::send): a harness drains it after each input so that inputs stay
    // fast and independent.
    void drain_control() {
        auto ring = channel.to_control();
        while (ring.pop()) {
        }
    }
};

// A share directory holding a directory "dir" and a 5-byte "file.txt", so that opens,
// directory listings and renames find something. On tmpfs when there is one: on ext4
// creating, writing and removing files costs milliseconds (journal), which would be
// most of an input's time.
class scratch_share {
public:
    // Files this process writes are held to `max_file_size`: an input's SET_INFO
    // FileAllocationInformation would otherwise fallocate gigabytes of tmpfs (memory)
    // and the reset spend the run freeing them. Larger writes fail with
    // EFBIG (SIGXFSZ ignored), as on a full disk. libFuzzer's own files stay far below.
    static constexpr rlim_t max_file_size = 8 << 20;

    scratch_share() {
        signal(SIGXFSZ, SIG_IGN);
        rlimit limit{max_file_size, max_file_size};
        setrlimit(RLIMIT_FSIZE, &limit);
        std::string tmpl = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        tmpl += "/smbx-fuzz-share-XXXXXX";
        const char* made = mkdtemp(tmpl.data());
        smbx::fuzzing::check(made != nullptr);
        _path = made;
        reset();
    }
    ~scratch_share() {
        std::error_code ec;
        std::filesystem::remove_all(_path, ec);
    }
    scratch_share(const scratch_share&) = delete;
    scratch_share& operator=(const scratch_share&) = delete;

    const std::string& path() const { return _path; }

    // Back to the initial content: what an input created, renamed, wrote or deleted
    // must not change what the next input finds (a reproducer must replay alone).
    void reset() const {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(_path, ec)) {
            std::filesystem::remove_all(e.path(), ec);
        }
        std::filesystem::create_directories(_path + "/dir", ec);
        FILE* f = fopen((_path + "/file.txt").c_str(), "w");
        if (f) {
            fputs("hello", f);
            fclose(f);
        }
    }

private:
    std::string _path;
};

constexpr uint64_t session_id = 1;
constexpr uint32_t disk_tree_id = 1;
constexpr uint32_t ipc_tree_id = 2;

// Keys of the ready session: fixed, so that a harness can sign or encrypt for it.
inline bytes session_key() {
    return bytes(16, 1);
}
inline bytes signing_key() {
    return bytes(16, 2);
}
inline bytes encryption_key() {
    return bytes(16, 3);
} // the server's, to the client
inline bytes decryption_key() {
    return bytes(16, 4);
} // the client's, to the server

// Makes `conn` a 3.1.1 connection (AES-128-GCM, AES-CMAC) with a valid session
// (`session_id`) that holds a tree connect on `share_path` (`disk_tree_id`) and one on
// IPC$ (`ipc_tree_id`). Returns the session.
inline std::shared_ptr<session> make_ready(connection& conn, const std::string& share_path) {
    conn.negotiated = true;
    conn.dialect = dialect_311;
    conn.cipher_id = cipher::aes128_gcm;
    conn.signing_alg = signing_algorithm::aes_cmac;
    conn.credits.consume(0, 1);
    conn.credits.grant(64);
    auto s = std::make_shared<session>();
    s->id = session_id;
    s->st = session::state::valid;
    s->user = "fuzz";
    s->session_key = session_key();
    s->signing_key = signing_key();
    s->encryption_key = encryption_key();
    s->decryption_key = decryption_key();
    auto disk = std::make_shared<tree_connect>();
    disk->id = disk_tree_id;
    disk->share.name = "share";
    disk->share.path = share_path;
    s->add_tree(disk);
    auto ipc = std::make_shared<tree_connect>();
    ipc->id = ipc_tree_id;
    ipc->share.name = "IPC$";
    ipc->share.type = ipc::share_type::ipc;
    s->add_tree(ipc);
    conn.add_channel(s);
    return s;
}

} // namespace smbx::smb2::fuzzing
