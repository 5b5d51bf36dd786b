// An open file or directory on a disk share (MS-SMB2 3.3.1.10 Open): its descriptor,
// its entry in the process-wide share-mode table, and per-open state (position, mode,
// directory enumeration). Closing it (the destructor: CLOSE, TREE_DISCONNECT, LOGOFF,
// disconnect) drops its byte-range locks and share mode and, when it was the last open
// of a delete-pending file, removes the file (MS-FSA 2.1.5.4).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/vfs/file_info.hh"
#include "dataplane/vfs/open_handle.hh"
#include "dataplane/vfs/share_modes.hh"
#include "dataplane/vfs/unique_fd.hh"

namespace smbx::vfs {

// CreateOptions (MS-SMB2 2.2.13) the open keeps.
constexpr uint32_t file_directory_file = 0x00000001;
constexpr uint32_t file_write_through = 0x00000002;
constexpr uint32_t file_sequential_only = 0x00000004;
constexpr uint32_t file_no_intermediate_buffering = 0x00000008;
constexpr uint32_t file_synchronous_io_alert = 0x00000010;
constexpr uint32_t file_synchronous_io_nonalert = 0x00000020;
constexpr uint32_t file_non_directory_file = 0x00000040;
constexpr uint32_t file_create_tree_connection = 0x00000080;
constexpr uint32_t file_complete_if_oplocked = 0x00000100;
constexpr uint32_t file_no_ea_knowledge = 0x00000200;
constexpr uint32_t file_random_access = 0x00000800;
constexpr uint32_t file_delete_on_close = 0x00001000;
constexpr uint32_t file_open_by_file_id = 0x00002000;
constexpr uint32_t file_open_for_backup_intent = 0x00004000;
constexpr uint32_t file_no_compression = 0x00008000;
constexpr uint32_t file_open_reparse_point = 0x00200000;
constexpr uint32_t file_reserve_opfilter = 0x00100000;

// Directory enumeration state of QUERY_DIRECTORY (MS-SMB2 3.3.5.18).
struct dir_enumeration {
    bool started = false;
    std::string pattern;
    std::vector<std::string> names; // matching entries, "." and ".." first
    size_t next = 0;
};

class file_open : public open_handle {
public:
    // `stream`: the stored name of a named stream (see streams.hh) of the file `fd`
    // refers to; empty for the file itself.
    file_open(unique_fd fd, const file_info& info, std::string share_root, bool read_only_share,
              std::string stream = {});
    ~file_open() override;

    // Registers the open in the share-mode table: SUCCESS, SHARING_VIOLATION or
    // DELETE_PENDING.
    uint32_t register_share_mode(uint32_t access, uint32_t share, const std::string& relative);

    int fd() const { return _fd.get(); }
    bool is_file() const final { return true; }
    bool is_directory() const { return _directory; }
    // `direct io = yes` shares: fd() was opened with O_DIRECT (file data bypasses the
    // page cache). I/O the device cannot take unaligned goes through buffered_fd(), a
    // second descriptor of the same file without O_DIRECT, opened on first use.
    bool direct_io() const { return _direct_io; }
    void set_direct_io(bool on) { _direct_io = on; }
    // How a worker may read this file without blocking (smb2 read_write.cc, read_file_data): memory
    // file systems (tmpfs) never wait for a device but refuse RWF_NOWAIT; others take
    // RWF_NOWAIT, unless they answered it with EOPNOTSUPP once.
    enum class nowait_read : uint8_t { supported, memory_backed, unsupported };
    nowait_read worker_reads() const { return _worker_reads; }
    void set_worker_reads(nowait_read r) { _worker_reads = r; }
    int buffered_fd();
    bool is_stream() const { return !_key.stream.empty(); }
    const std::string& stream_name() const { return _key.stream; }
    // After a stream rename: I/O follows the new name. The share-mode entry keeps the
    // old key (a documented limit: opens of the new name do not see this one).
    void stream_renamed(std::string name) { _key.stream = std::move(name); }
    file_key key() const { return _key; }
    file_state* state() const { return _state.get(); }
    std::shared_ptr<file_state> shared_state() const { return _state; }
    const std::string& share_root() const { return _share_root; }
    bool read_only_share() const { return _read_only_share; }
    // The current share-relative name ('/'-separated), following renames.
    std::string relative_name() const;

    // Delete-on-close of this open (FILE_DELETE_ON_CLOSE, FileDispositionInformation).
    void set_delete_on_close(bool on);
    bool delete_pending() const;

    // Metadata of the open file; for a stream, the base file's with the stream's sizes.
    std::optional<file_info> info() const;

    uint32_t share_access = 0;
    uint32_t create_options = 0;
    uint64_t position = 0; // FilePositionInformation
    uint32_t mode = 0;     // FileModeInformation
    size_t ea_index = 0;   // next EA of a FileFullEaInformation scan (MS-SMB2 3.3.5.20.1)
    dir_enumeration enumeration;

private:
    void remove_file(const std::string& share_root, const std::string& relative);

    unique_fd _fd;
    unique_fd _buffered_fd;
    bool _direct_io = false;
    nowait_read _worker_reads = nowait_read::supported;
    file_key _key;
    bool _directory;
    std::string _share_root;
    bool _read_only_share;
    std::shared_ptr<file_state> _state;
};

} // namespace smbx::vfs
