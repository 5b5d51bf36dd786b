// A temporary share directory for vfs tests.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/byte_codec.hh"
#include "dataplane/vfs/share_path.hh"

namespace smbx::vfs::testing {

class temp_share {
public:
    temp_share() {
        char tmpl[] = "/tmp/smbx-vfs-XXXXXX";
        if (::mkdtemp(tmpl)) {
            _base = tmpl;
            std::filesystem::create_directory(_base / "share");
        }
    }
    ~temp_share() { std::filesystem::remove_all(_base); }
    std::string root() const { return (_base / "share").string(); }
    std::filesystem::path path(const std::string& rel) const { return _base / "share" / rel; }
    std::filesystem::path base() const { return _base; }
    void write(const std::string& rel, const std::string& data) const {
        std::ofstream(path(rel), std::ios::binary) << data;
    }

private:
    std::filesystem::path _base;
};

inline smb_name name(std::string_view s) {
    return parse_smb_name(utf16le(s)).name;
}

} // namespace smbx::vfs::testing
