// Extended attributes (EAs) of files and directories (MS-FSCC 2.4.15
// FileFullEaInformation, 2.4.16 FileGetEaInformation; MS-FSA 2.1.5.11.25 and
// 2.1.5.14.4). Each EA is one Linux xattr "user.smbx.ea.<NAME>" holding the raw value;
// names are stored upper-cased, as NTFS does, so lookups ignore case. The EA flags
// (FILE_NEED_EA) are not kept. Values are bounded by what the file system holds in
// xattrs (64 KiB at most; ext4 keeps all of a file's xattrs in one block): a value
// that does not fit is EA_TOO_LARGE.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_codec.hh"

namespace smbx::vfs {

constexpr uint32_t status_invalid_ea_name = 0x80000013;
constexpr uint32_t status_ea_list_inconsistent = 0x80000014;
constexpr uint32_t status_no_more_eas = 0x80000012;
constexpr uint32_t status_no_eas_on_file = 0xC0000052;
constexpr uint32_t status_nonexistent_ea_entry = 0xC0000051;

constexpr size_t max_ea_name = 255;
constexpr size_t max_ea_value = 65535;

struct ea_entry {
    uint8_t flags = 0;
    std::string name; // as sent (parse) or upper-cased (stored)
    bytes value;      // empty: delete (when setting)
};

// Validates an EA name (MS-FSCC 2.4.15): 1..255 characters, none of them a control
// character or one of " * + , / : ; < = > ? [ \ ] |.
bool valid_ea_name(std::string_view name);
std::string upcase_ea_name(std::string_view name);

struct ea_list_parse {
    uint32_t status = 0;
    std::vector<ea_entry> eas;
    uint32_t error_offset = 0; // of the offending entry, for INVALID_EA_NAME
};
// Parses a FILE_FULL_EA_INFORMATION chain (the ExtA create context, SET_INFO
// FileFullEaInformation) and validates its names.
ea_list_parse parse_full_ea_list(byte_span buf);
// Parses a FILE_GET_EA_INFORMATION chain (QUERY_INFO input); nullopt if malformed.
std::optional<std::vector<std::string>> parse_get_ea_list(byte_span buf);

// Applies EAs to an open file (not O_PATH): an empty value removes the EA.
uint32_t set_eas(int fd, const std::vector<ea_entry>& eas);
// All EAs of an open file, in name order; nullopt and errno on failure.
std::optional<std::vector<ea_entry>> list_eas(int fd);
// The EAs of the file `name` in directory `dirfd` (without opening it for I/O).
std::optional<std::vector<ea_entry>> list_eas_at(int dirfd, const char* name);
// EaSize of FileEaInformation and directory entries: the size of the full EA list
// with every entry 4-byte aligned; 0 when there are none.
uint32_t ea_list_size(const std::vector<ea_entry>& eas);

// Appends one FILE_FULL_EA_INFORMATION entry, NextEntryOffset 0, unpadded.
void put_full_ea(byte_writer& w, const ea_entry& e);
// Size of that entry.
size_t full_ea_size(const ea_entry& e);

} // namespace smbx::vfs
