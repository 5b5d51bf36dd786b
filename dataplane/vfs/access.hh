// Access masks, share access and file attributes (MS-SMB2 2.2.13, 2.2.13.1;
// MS-FSCC 2.6; MS-DTYP 2.4.3).
#pragma once

#include <cstdint>

namespace smbx::vfs {

// File_Pipe_Printer_Access_Mask / Directory_Access_Mask (MS-SMB2 2.2.13.1)
constexpr uint32_t file_read_data = 0x00000001;   // directory: FILE_LIST_DIRECTORY
constexpr uint32_t file_write_data = 0x00000002;  // directory: FILE_ADD_FILE
constexpr uint32_t file_append_data = 0x00000004; // directory: FILE_ADD_SUBDIRECTORY
constexpr uint32_t file_read_ea = 0x00000008;
constexpr uint32_t file_write_ea = 0x00000010;
constexpr uint32_t file_execute = 0x00000020; // directory: FILE_TRAVERSE
constexpr uint32_t file_delete_child = 0x00000040;
constexpr uint32_t file_read_attributes = 0x00000080;
constexpr uint32_t file_write_attributes = 0x00000100;
constexpr uint32_t delete_access = 0x00010000;
constexpr uint32_t read_control = 0x00020000;
constexpr uint32_t write_dac = 0x00040000;
constexpr uint32_t write_owner = 0x00080000;
constexpr uint32_t synchronize = 0x00100000;
constexpr uint32_t access_system_security = 0x01000000;
constexpr uint32_t maximum_allowed = 0x02000000;
constexpr uint32_t generic_all = 0x10000000;
constexpr uint32_t generic_execute = 0x20000000;
constexpr uint32_t generic_write = 0x40000000;
constexpr uint32_t generic_read = 0x80000000;

constexpr uint32_t file_all_access = 0x001F01FF;
// Generic mapping for files (MS-SMB2 2.2.13.1.1 / Windows FILE_GENERIC_*).
constexpr uint32_t file_generic_read =
    read_control | file_read_data | file_read_attributes | file_read_ea | synchronize;
constexpr uint32_t file_generic_write = read_control | file_write_data | file_write_attributes |
                                        file_write_ea | file_append_data | synchronize;
constexpr uint32_t file_generic_execute =
    read_control | file_read_attributes | file_execute | synchronize;
// What may be granted on a read-only share.
constexpr uint32_t read_only_access = file_generic_read | file_generic_execute;
// Access bits that modify the file or its metadata.
constexpr uint32_t modifying_access = file_write_data | file_append_data | file_write_ea |
                                      file_write_attributes | file_delete_child | delete_access |
                                      write_dac | write_owner;
// Bits a client may ask for (MS-SMB2 3.3.5.9: others -> ACCESS_DENIED).
constexpr uint32_t valid_access_bits = file_all_access | access_system_security | maximum_allowed |
                                       generic_all | generic_execute | generic_write | generic_read;

inline uint32_t map_generic(uint32_t access) {
    uint32_t out = access & ~(generic_all | generic_execute | generic_write | generic_read);
    if (access & generic_all) {
        out |= file_all_access;
    }
    if (access & generic_read) {
        out |= file_generic_read;
    }
    if (access & generic_write) {
        out |= file_generic_write;
    }
    if (access & generic_execute) {
        out |= file_generic_execute;
    }
    return out;
}

// ShareAccess (MS-SMB2 2.2.13)
constexpr uint32_t file_share_read = 0x1;
constexpr uint32_t file_share_write = 0x2;
constexpr uint32_t file_share_delete = 0x4;
constexpr uint32_t file_share_valid = 0x7;

// File attributes (MS-FSCC 2.6)
constexpr uint32_t attr_readonly = 0x00000001;
constexpr uint32_t attr_hidden = 0x00000002;
constexpr uint32_t attr_system = 0x00000004;
constexpr uint32_t attr_directory = 0x00000010;
constexpr uint32_t attr_archive = 0x00000020;
constexpr uint32_t attr_normal = 0x00000080;
constexpr uint32_t attr_temporary = 0x00000100;
constexpr uint32_t attr_sparse_file = 0x00000200;
constexpr uint32_t attr_reparse_point = 0x00000400;
constexpr uint32_t attr_compressed = 0x00000800;
constexpr uint32_t attr_offline = 0x00001000;
constexpr uint32_t attr_not_content_indexed = 0x00002000;
constexpr uint32_t attr_encrypted = 0x00004000;
// Attributes a client can set and the server stores (others are derived or refused).
constexpr uint32_t attr_settable = attr_readonly | attr_hidden | attr_system | attr_archive |
                                   attr_temporary | attr_not_content_indexed | attr_offline;

} // namespace smbx::vfs
