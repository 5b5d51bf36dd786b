// Encoders of the MS-FSCC information classes that QUERY_INFO (2.4, 2.5) and
// QUERY_DIRECTORY (2.4: *DirectoryInformation, FileNamesInformation) return. Each
// appends exactly the structure MS-FSCC lays out, little-endian, to a byte_writer.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/byte_codec.hh"
#include "dataplane/vfs/file_info.hh"

namespace smbx::smb2::fscc {

// File information classes (MS-FSCC 2.4)
constexpr uint8_t file_directory_information = 1;
constexpr uint8_t file_full_directory_information = 2;
constexpr uint8_t file_both_directory_information = 3;
constexpr uint8_t file_basic_information = 4;
constexpr uint8_t file_standard_information = 5;
constexpr uint8_t file_internal_information = 6;
constexpr uint8_t file_ea_information = 7;
constexpr uint8_t file_access_information = 8;
constexpr uint8_t file_name_information = 9;
constexpr uint8_t file_rename_information = 10;
constexpr uint8_t file_link_information = 11;
constexpr uint8_t file_names_information = 12;
constexpr uint8_t file_disposition_information = 13;
constexpr uint8_t file_position_information = 14;
constexpr uint8_t file_full_ea_information = 15;
constexpr uint8_t file_mode_information = 16;
constexpr uint8_t file_alignment_information = 17;
constexpr uint8_t file_all_information = 18;
constexpr uint8_t file_allocation_information = 19;
constexpr uint8_t file_end_of_file_information = 20;
constexpr uint8_t file_alternate_name_information = 21;
constexpr uint8_t file_stream_information = 22;
constexpr uint8_t file_pipe_information = 23;
constexpr uint8_t file_pipe_local_information = 24;
constexpr uint8_t file_pipe_remote_information = 25;
constexpr uint8_t file_compression_information = 28;
constexpr uint8_t file_object_id_information = 29;
constexpr uint8_t file_quota_information = 32;
constexpr uint8_t file_reparse_point_information = 33;
constexpr uint8_t file_network_open_information = 34;
constexpr uint8_t file_attribute_tag_information = 35;
constexpr uint8_t file_id_both_directory_information = 37;
constexpr uint8_t file_id_full_directory_information = 38;
constexpr uint8_t file_valid_data_length_information = 39;
constexpr uint8_t file_short_name_information = 40;
constexpr uint8_t file_sfio_reserve_information = 44;
constexpr uint8_t file_sfio_volume_information = 45;
constexpr uint8_t file_hard_link_information = 46;
constexpr uint8_t file_normalized_name_information = 48;
constexpr uint8_t file_id_global_tx_directory_information = 50;
constexpr uint8_t file_standard_link_information = 54;
constexpr uint8_t file_id_information = 59;
constexpr uint8_t file_id_extd_directory_information = 60;
constexpr uint8_t file_disposition_information_ex = 64;
constexpr uint8_t file_rename_information_ex = 65;
constexpr uint8_t file_id_extd_both_directory_information = 63;
constexpr uint8_t file_max_class = 75; // beyond this: not an MS-FSCC class

// File system information classes (MS-FSCC 2.5)
constexpr uint8_t fs_volume_information = 1;
constexpr uint8_t fs_label_information = 2;
constexpr uint8_t fs_size_information = 3;
constexpr uint8_t fs_device_information = 4;
constexpr uint8_t fs_attribute_information = 5;
constexpr uint8_t fs_control_information = 6;
constexpr uint8_t fs_full_size_information = 7;
constexpr uint8_t fs_object_id_information = 8;
constexpr uint8_t fs_driver_path_information = 9;
constexpr uint8_t fs_volume_flags_information = 10;
constexpr uint8_t fs_sector_size_information = 11;

// FileSystemAttributes (MS-FSCC 2.5.1)
constexpr uint32_t fs_case_sensitive_search = 0x00000001;
constexpr uint32_t fs_case_preserved_names = 0x00000002;
constexpr uint32_t fs_unicode_on_disk = 0x00000004;
constexpr uint32_t fs_persistent_acls = 0x00000008;
constexpr uint32_t fs_supports_sparse_files = 0x00000040;
constexpr uint32_t fs_supports_object_ids = 0x00010000;
constexpr uint32_t fs_named_streams = 0x00040000;
constexpr uint32_t fs_supports_extended_attributes = 0x00800000;

// Per-file fields the file information classes need besides the metadata.
struct open_fields {
    bool delete_pending = false;
    uint32_t access_flags = 0; // granted access
    uint64_t position = 0;
    uint32_t mode = 0;
    uint32_t alignment = 0; // FILE_BYTE_ALIGNMENT
    uint32_t ea_size = 0;   // FileEaInformation.EaSize
    std::string_view name;  // UTF-8, "\dir\file" form
};

void put_basic(byte_writer& w, const vfs::file_info& fi);                         // 2.4.7
void put_standard(byte_writer& w, const vfs::file_info& fi, bool delete_pending); // 2.4.41
void put_internal(byte_writer& w, const vfs::file_info& fi);                      // 2.4.22
void put_ea(byte_writer& w, uint32_t ea_size);                                    // 2.4.12
void put_access(byte_writer& w, uint32_t access_flags);                           // 2.4.1
void put_position(byte_writer& w, uint64_t position);                             // 2.4.35
void put_mode(byte_writer& w, uint32_t mode);                                     // 2.4.26
void put_alignment(byte_writer& w, uint32_t alignment);                           // 2.4.3
void put_name(byte_writer& w, std::string_view name);                             // 2.4.28
void put_all(byte_writer& w, const vfs::file_info& fi, const open_fields& o);     // 2.4.2
void put_network_open(byte_writer& w, const vfs::file_info& fi);                  // 2.4.29
void put_attribute_tag(byte_writer& w, const vfs::file_info& fi);                 // 2.4.6
struct stream_fields {
    std::string_view name; // UTF-8, "::$DATA" or ":name:$DATA"
    uint64_t size = 0;
    uint64_t allocation_size = 0;
};
// FileStreamInformation (2.4.44): the entries chained, each 8-byte aligned.
void put_streams(byte_writer& w, const std::vector<stream_fields>& streams);
void put_compression(byte_writer& w, const vfs::file_info& fi); // 2.4.9
void put_id(byte_writer& w, const vfs::file_info& fi);          // 2.4.21

// Size of the fixed part of a directory entry of `info_class`; 0 if unsupported.
size_t dir_entry_fixed_size(uint8_t info_class);
// Appends one directory entry with NextEntryOffset 0 (the caller chains entries).
// `short_name` (8.3, at most 12 characters) fills the *Both* classes' ShortName.
// `ea_size` fills EaSize where the class has it.
void put_dir_entry(byte_writer& w, uint8_t info_class, const vfs::file_info& fi,
                   std::string_view name, std::string_view short_name = {}, uint32_t ea_size = 0);

struct fs_stats {
    uint64_t total_units = 0;
    uint64_t free_units = 0;      // for the caller (quota ignored)
    uint64_t available_units = 0; // actually free
    uint32_t sectors_per_unit = 1;
    uint32_t bytes_per_sector = 512;
};

void put_fs_volume(byte_writer& w, uint64_t creation_time, uint32_t serial,
                   std::string_view label);               // 2.5.9
void put_fs_size(byte_writer& w, const fs_stats& s);      // 2.5.8
void put_fs_full_size(byte_writer& w, const fs_stats& s); // 2.5.4
void put_fs_device(byte_writer& w);                       // 2.5.10
void put_fs_attribute(byte_writer& w, uint32_t attributes, uint32_t max_name_length,
                      std::string_view fs_name);                       // 2.5.1
void put_fs_sector_size(byte_writer& w, uint32_t sector);              // 2.5.7
void put_fs_object_id(byte_writer& w, const uint8_t (&object_id)[16]); // 2.5.6

} // namespace smbx::smb2::fscc
