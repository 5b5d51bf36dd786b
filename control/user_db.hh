// The user database: `<private dir>/smbx-users`, one `name:nt_hash_hex` per line,
// mode 0600 in a 0700 directory, read only by smbx-control and smbxctl. Rewrites are
// atomic (temp file, fsync, rename) and serialised by an flock on a lock file, so
// smbx-control never sees a half-written file and two smbxctl runs do not lose
// each other's changes. Names compare case-insensitively (ASCII). Hashes and
// passwords are never logged.
#pragma once

#include <ctime>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

#include "control/auth/authenticator.hh"

namespace smbx {

class user_db {
public:
    // An error message; nullopt means success.
    using error = std::optional<std::string>;

    explicit user_db(std::string private_dir);

    const std::string& file_path() const { return _file; }

    // Read the file (a missing file is an empty database). On error the previous
    // contents stay.
    error load();
    // load() again only if the file changed (inode, size or mtime) since the last load.
    error refresh();

    std::optional<auth::nt_hash> lookup(std::string_view name) const;
    std::vector<std::string> names() const; // sorted, as stored
    size_t size() const { return _users.size(); }

    // Read-modify-write the file under its lock. add fails if the user exists;
    // set_hash and remove fail if it does not.
    error add(std::string_view name, const auth::nt_hash& hash);
    error set_hash(std::string_view name, const auth::nt_hash& hash);
    error remove(std::string_view name);

    static bool valid_name(std::string_view name);
    // Create the private dir (0700; parents 0755) if it does not exist.
    error ensure_dir() const;

private:
    struct entry {
        std::string name;
        auth::nt_hash hash{};
    };
    struct file_identity {
        dev_t dev = 0;
        ino_t ino = 0;
        off_t size = -1;
        timespec mtime{};
        bool operator==(const file_identity& o) const {
            return dev == o.dev && ino == o.ino && size == o.size &&
                   mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
        }
    };

    template <typename Change> error modify(Change change);
    error save() const;
    std::optional<file_identity> identity() const;

    std::string _dir;
    std::string _file;
    std::map<std::string, entry> _users; // key: lower-case name
    std::optional<file_identity> _loaded;
};

} // namespace smbx
