#include "dataplane/smb2/fscc.hh"

namespace smbx::smb2::fscc {

namespace {

bytes utf16(std::string_view s) {
    bytes b;
    utf8_to_utf16le(s, b);
    return b;
}

void put_times(byte_writer& w, const vfs::file_info& fi) {
    w.u64(fi.creation_time);
    w.u64(fi.last_access_time);
    w.u64(fi.last_write_time);
    w.u64(fi.change_time);
}

} // namespace

void put_basic(byte_writer& w, const vfs::file_info& fi) {
    put_times(w, fi);
    w.u32(fi.attributes);
    w.u32(0); // Reserved
}

void put_standard(byte_writer& w, const vfs::file_info& fi, bool delete_pending) {
    w.u64(fi.allocation_size);
    w.u64(fi.end_of_file);
    // A delete-pending file is still linked; Windows reports one link fewer.
    uint32_t links = fi.number_of_links;
    if (delete_pending && links) {
        --links;
    }
    w.u32(links);
    w.u8(delete_pending ? 1 : 0);
    w.u8(fi.directory ? 1 : 0);
    w.u16(0); // Reserved
}

void put_internal(byte_writer& w, const vfs::file_info& fi) {
    w.u64(fi.index_number);
}

void put_ea(byte_writer& w, uint32_t ea_size) {
    w.u32(ea_size);
}

void put_access(byte_writer& w, uint32_t access_flags) {
    w.u32(access_flags);
}

void put_position(byte_writer& w, uint64_t position) {
    w.u64(position);
}

void put_mode(byte_writer& w, uint32_t mode) {
    w.u32(mode);
}

void put_alignment(byte_writer& w, uint32_t alignment) {
    w.u32(alignment);
}

void put_name(byte_writer& w, std::string_view name) {
    auto n = utf16(name);
    w.u32(uint32_t(n.size()));
    w.put(n);
}

void put_all(byte_writer& w, const vfs::file_info& fi, const open_fields& o) {
    put_basic(w, fi);
    put_standard(w, fi, o.delete_pending);
    put_internal(w, fi);
    put_ea(w, o.ea_size);
    put_access(w, o.access_flags);
    put_position(w, o.position);
    put_mode(w, o.mode);
    put_alignment(w, o.alignment);
    put_name(w, o.name);
}

void put_network_open(byte_writer& w, const vfs::file_info& fi) {
    put_times(w, fi);
    w.u64(fi.allocation_size);
    w.u64(fi.end_of_file);
    w.u32(fi.attributes);
    w.u32(0); // Reserved
}

void put_attribute_tag(byte_writer& w, const vfs::file_info& fi) {
    w.u32(fi.attributes);
    w.u32(0); // ReparseTag: no reparse points are exposed
}

void put_streams(byte_writer& w, const std::vector<stream_fields>& streams) {
    size_t last = 0;
    for (size_t i = 0; i < streams.size(); ++i) {
        if (i) {
            w.align(8);
            w.patch_u32(last, uint32_t(w.size() - last));
        }
        last = w.size();
        auto n = utf16(streams[i].name);
        w.u32(0); // NextEntryOffset
        w.u32(uint32_t(n.size()));
        w.u64(streams[i].size);
        w.u64(streams[i].allocation_size);
        w.put(n);
    }
}

void put_compression(byte_writer& w, const vfs::file_info& fi) {
    w.u64(fi.end_of_file); // CompressedFileSize: not compressed
    w.u16(0);              // COMPRESSION_FORMAT_NONE
    w.u8(0);               // CompressionUnitShift
    w.u8(0);               // ChunkShift
    w.u8(0);               // ClusterShift
    w.zeros(3);
}

void put_id(byte_writer& w, const vfs::file_info& fi) {
    w.u64(fi.device); // VolumeSerialNumber
    w.u64(fi.index_number);
    w.u64(0); // FileId is 128 bits
}

size_t dir_entry_fixed_size(uint8_t info_class) {
    switch (info_class) {
    case file_directory_information:
        return 64;
    case file_full_directory_information:
        return 68;
    case file_both_directory_information:
        return 94;
    case file_names_information:
        return 12;
    case file_id_both_directory_information:
        return 104;
    case file_id_full_directory_information:
        return 80;
    case file_id_extd_directory_information:
        return 88;
    default:
        return 0;
    }
}

namespace {

// ShortNameLength, Reserved, ShortName[24] of the *Both* directory classes.
void put_short_name(byte_writer& w, std::string_view short_name) {
    auto s = utf16(short_name);
    if (s.size() > 24) {
        s.clear();
    }
    w.u8(uint8_t(s.size()));
    w.u8(0);
    w.put(s);
    w.zeros(24 - s.size());
}

} // namespace

void put_dir_entry(byte_writer& w, uint8_t info_class, const vfs::file_info& fi,
                   std::string_view name, std::string_view short_name, uint32_t ea_size) {
    auto n = utf16(name);
    w.u32(0); // NextEntryOffset
    w.u32(0); // FileIndex: meaningless outside NTFS's own order
    if (info_class == file_names_information) {
        w.u32(uint32_t(n.size()));
        w.put(n);
        return;
    }
    put_times(w, fi);
    w.u64(fi.end_of_file);
    w.u64(fi.allocation_size);
    w.u32(fi.attributes);
    w.u32(uint32_t(n.size()));
    switch (info_class) {
    case file_directory_information:
        break;
    case file_full_directory_information:
        w.u32(ea_size);
        break;
    case file_both_directory_information:
        w.u32(ea_size);
        put_short_name(w, short_name);
        break;
    case file_id_both_directory_information:
        w.u32(ea_size);
        put_short_name(w, short_name);
        w.u16(0); // Reserved2
        w.u64(fi.index_number);
        break;
    case file_id_full_directory_information:
        w.u32(ea_size);
        w.u32(0); // Reserved
        w.u64(fi.index_number);
        break;
    case file_id_extd_directory_information:
        w.u32(ea_size);
        w.u32(0); // ReparsePointTag
        w.u64(fi.index_number);
        w.u64(0); // FileId is 128 bits
        break;
    default:
        break;
    }
    w.put(n);
}

void put_fs_volume(byte_writer& w, uint64_t creation_time, uint32_t serial,
                   std::string_view label) {
    auto n = utf16(label);
    w.u64(creation_time);
    w.u32(serial);
    w.u32(uint32_t(n.size()));
    w.u8(0); // SupportsObjects
    w.u8(0); // Reserved
    w.put(n);
}

void put_fs_size(byte_writer& w, const fs_stats& s) {
    w.u64(s.total_units);
    w.u64(s.free_units);
    w.u32(s.sectors_per_unit);
    w.u32(s.bytes_per_sector);
}

void put_fs_full_size(byte_writer& w, const fs_stats& s) {
    w.u64(s.total_units);
    w.u64(s.free_units);
    w.u64(s.available_units);
    w.u32(s.sectors_per_unit);
    w.u32(s.bytes_per_sector);
}

void put_fs_device(byte_writer& w) {
    w.u32(0x00000007); // FILE_DEVICE_DISK
    w.u32(0x00000020); // FILE_DEVICE_IS_MOUNTED
}

void put_fs_attribute(byte_writer& w, uint32_t attributes, uint32_t max_name_length,
                      std::string_view fs_name) {
    auto n = utf16(fs_name);
    w.u32(attributes);
    w.u32(max_name_length);
    w.u32(uint32_t(n.size()));
    w.put(n);
}

void put_fs_sector_size(byte_writer& w, uint32_t sector) {
    w.u32(sector); // LogicalBytesPerSector
    w.u32(sector); // PhysicalBytesPerSectorForAtomicity
    w.u32(sector); // PhysicalBytesPerSectorForPerformance
    w.u32(sector); // FileSystemEffectivePhysicalBytesPerSectorForAtomicity
    // SSINFO_FLAGS_ALIGNED_DEVICE | PARTITION_ALIGNED_ON_DEVICE | TRIM_ENABLED (MS-FSCC
    // 2.5.7): FSCTL_FILE_LEVEL_TRIM releases the ranges' storage (fsctl_sparse.cc).
    w.u32(0x0000000B);
    w.u32(0); // ByteOffsetForSectorAlignment
    w.u32(0); // ByteOffsetForPartitionAlignment
}

void put_fs_object_id(byte_writer& w, const uint8_t (&object_id)[16]) {
    w.put(object_id, 16);
    w.zeros(48); // ExtendedInfo
}

} // namespace smbx::smb2::fscc
