// SMB2 QUERY_INFO (MS-SMB2 2.2.37, 2.2.38, 3.3.5.20). Each class is encoded whole,
// then fitted to OutputBufferLength: too small for the fixed part is
// INFO_LENGTH_MISMATCH, too small for the variable part is BUFFER_OVERFLOW with the
// truncated data (3.3.5.20.1, 3.3.5.20.2). Security descriptors (stored or synthesized:
// vfs/security_descriptor.hh) are never truncated (BUFFER_TOO_SMALL, 3.3.5.20.3).
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "dataplane/smb2/fscc.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/open_lookup.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/extended_attributes.hh"
#include "dataplane/vfs/name_match.hh"
#include "dataplane/vfs/security_descriptor.hh"
#include "dataplane/vfs/share_path.hh"
#include "dataplane/vfs/streams.hh"

namespace smbx::smb2 {

namespace {

// Minimum buffer sizes: the C structure with one name character, aligned, as Windows
// checks them (smbtorture smb2.getinfo.qfile_buffercheck / qfs_buffercheck).
constexpr size_t name_info_fixed = 8;
constexpr size_t all_info_fixed = 104;
constexpr size_t stream_info_fixed = 32;
constexpr size_t fs_volume_fixed = 24;
constexpr size_t fs_attribute_fixed = 16;

struct encoded {
    uint32_t status = status::success;
    bytes data;
    size_t fixed = 0;     // size of the fixed part
    uint32_t warning = 0; // BUFFER_OVERFLOW of a class fitted by its encoder
};

// The request fields only some classes use.
struct query_input {
    byte_span buffer;   // FileFullEaInformation: FILE_GET_EA_INFORMATION list
    uint32_t flags = 0; // SL_RESTART_SCAN, SL_RETURN_SINGLE_ENTRY, SL_INDEX_SPECIFIED
    uint32_t output_length = 0;
};

constexpr uint32_t sl_restart_scan = 0x1;
constexpr uint32_t sl_return_single_entry = 0x2;

encoded fail(uint32_t st) {
    return encoded{st, {}, 0};
}

// The share-relative name as MS-FSCC names are returned: "\dir\file"; the normalized
// form has no leading separator (the root is the empty name).
std::string smb_path(const vfs::file_open& f, bool leading = true) {
    std::string n = (leading ? "\\" : "") + f.relative_name();
    std::replace(n.begin(), n.end(), '/', '\\');
    if (f.is_stream()) {
        n += ":" + f.stream_name();
    }
    return n;
}

uint32_t ea_size(const vfs::file_open& f) {
    auto eas = vfs::list_eas(f.fd());
    return eas ? vfs::ea_list_size(*eas) : 0;
}

// FileStreamInformation (MS-FSCC 2.4.44): the unnamed data stream of a file, then
// the named streams, of the base file whichever stream the open is.
encoded query_streams(const vfs::file_open& f) {
    auto base = vfs::query_file_info(f.fd());
    auto named = vfs::list_streams(f.fd());
    if (!base || !named) {
        return fail(vfs::errno_to_status(errno));
    }
    std::vector<std::string> names;
    std::vector<fscc::stream_fields> fields;
    names.reserve(named->size());
    if (!base->directory) {
        fields.push_back({"::$DATA", base->end_of_file, base->allocation_size});
    }
    for (const auto& s : *named) {
        names.push_back(":" + s.name + ":$DATA");
        fields.push_back({names.back(), s.size, (s.size + 4095) & ~uint64_t(4095)});
    }
    byte_writer w;
    fscc::put_streams(w, fields);
    encoded e;
    e.data = w.take();
    e.fixed = stream_info_fixed;
    return e;
}

// FileFullEaInformation (MS-SMB2 3.3.5.20.1, MS-FSA 2.1.5.11.25): the EAs named in
// the input, else the file's EAs from the open's scan index, as many as fit (one with
// SL_RETURN_SINGLE_ENTRY).
encoded query_full_ea(vfs::file_open& f, const query_input& in) {
    auto eas = vfs::list_eas(f.fd());
    if (!eas) {
        return fail(errno == ENOTSUP ? status::eas_not_supported : vfs::errno_to_status(errno));
    }
    std::vector<vfs::ea_entry> out;
    if (!in.buffer.empty()) {
        auto wanted = vfs::parse_get_ea_list(in.buffer);
        if (!wanted) {
            return fail(status::invalid_parameter);
        }
        for (const auto& name : *wanted) {
            auto upper = vfs::upcase_ea_name(name);
            auto it = std::find_if(eas->begin(), eas->end(),
                                   [&](const vfs::ea_entry& e) { return e.name == upper; });
            out.push_back(it != eas->end() ? *it : vfs::ea_entry{0, name, {}});
        }
    } else {
        if (in.flags & sl_restart_scan) {
            f.ea_index = 0;
        }
        if (eas->empty()) {
            return fail(vfs::status_no_eas_on_file);
        }
        if (f.ea_index >= eas->size()) {
            return fail(vfs::status_no_more_eas);
        }
        out.assign(eas->begin() + ptrdiff_t(f.ea_index), eas->end());
        if (in.flags & sl_return_single_entry) {
            out.resize(1);
        }
    }
    byte_writer w;
    size_t count = 0;
    size_t last = 0;
    for (const auto& e : out) {
        size_t start = (w.size() + 3) & ~size_t(3);
        if (start + vfs::full_ea_size(e) > in.output_length) {
            break;
        }
        if (count) {
            w.align(4);
            w.patch_u32(last, uint32_t(start - last));
        }
        last = w.size();
        vfs::put_full_ea(w, e);
        ++count;
    }
    if (!count) {
        return fail(status::buffer_too_small);
    }
    if (in.buffer.empty()) {
        f.ea_index += count;
    }
    encoded r;
    r.data = w.take();
    r.warning = count < out.size() ? status::buffer_overflow : 0;
    return r;
}

bool known_file_class(uint8_t c) {
    // MS-FSCC 2.4 defines these; the rest of 1..75 are reserved or undocumented.
    return (c >= 1 && c <= 41) || (c >= 44 && c <= 50) || c == 52 || c == 54 || c == 55 ||
           (c >= 59 && c <= 61) || c == 63 || c == 64 || c == 65 || c == 68 || c == 69 || c == 72 ||
           c == 73 || c == 74 || c == 75;
}

encoded query_file(vfs::file_open& f, uint8_t cls, const connection& conn, const query_input& in) {
    auto fi = f.info();
    if (!fi) {
        return fail(vfs::errno_to_status(errno));
    }
    uint32_t access = f.granted_access;
    bool need_attrs = cls == fscc::file_basic_information || cls == fscc::file_all_information ||
                      cls == fscc::file_network_open_information ||
                      cls == fscc::file_attribute_tag_information;
    if (need_attrs && !(access & vfs::file_read_attributes)) {
        return fail(status::access_denied);
    }
    encoded e;
    byte_writer w;
    switch (cls) {
    case fscc::file_basic_information:
        fscc::put_basic(w, *fi);
        break;
    case fscc::file_standard_information:
        fscc::put_standard(w, *fi, f.delete_pending());
        break;
    case fscc::file_internal_information:
        fscc::put_internal(w, *fi);
        break;
    case fscc::file_ea_information:
        fscc::put_ea(w, ea_size(f));
        break;
    case fscc::file_access_information:
        fscc::put_access(w, access);
        break;
    case fscc::file_position_information:
        fscc::put_position(w, f.position);
        break;
    case fscc::file_mode_information:
        fscc::put_mode(w, f.mode);
        break;
    case fscc::file_alignment_information:
        fscc::put_alignment(w, 0);
        break;
    case fscc::file_normalized_name_information:
        if (conn.dialect < dialect_311) {
            return fail(status::not_supported);
        }
        fscc::put_name(w, smb_path(f, false));
        e.fixed = name_info_fixed;
        break;
    case fscc::file_name_information:
        fscc::put_name(w, smb_path(f));
        e.fixed = name_info_fixed;
        break;
    case fscc::file_all_information: {
        auto name = smb_path(f);
        fscc::open_fields o{f.delete_pending(), access, f.position, f.mode, 0, ea_size(f), name};
        fscc::put_all(w, *fi, o);
        e.fixed = all_info_fixed;
        break;
    }
    case fscc::file_alternate_name_information: {
        auto rel = f.relative_name();
        auto leaf = rel.substr(rel.rfind('/') + 1);
        fscc::put_name(w, vfs::short_name(leaf));
        e.fixed = name_info_fixed;
        break;
    }
    case fscc::file_stream_information:
        return query_streams(f);
    case fscc::file_compression_information:
        fscc::put_compression(w, *fi);
        break;
    case fscc::file_network_open_information:
        fscc::put_network_open(w, *fi);
        break;
    case fscc::file_attribute_tag_information:
        fscc::put_attribute_tag(w, *fi);
        break;
    case fscc::file_id_information:
        fscc::put_id(w, *fi);
        break;
    case fscc::file_full_ea_information:
        if (!(access & vfs::file_read_ea)) {
            return fail(status::access_denied);
        }
        return query_full_ea(f, in);
    default:
        return fail(known_file_class(cls) ? status::not_supported : status::invalid_info_class);
    }
    e.data = w.take();
    if (!e.fixed) {
        e.fixed = e.data.size();
    }
    return e;
}

encoded query_pipe(const open_handle& h, uint8_t cls) {
    vfs::file_info fi;
    fi.attributes = vfs::attr_normal;
    fi.allocation_size = 4096;
    byte_writer w;
    switch (cls) {
    case fscc::file_standard_information:
        fscc::put_standard(w, fi, false);
        break;
    case fscc::file_basic_information:
        fscc::put_basic(w, fi);
        break;
    case fscc::file_network_open_information:
        fscc::put_network_open(w, fi);
        break;
    case fscc::file_access_information:
        fscc::put_access(w, h.granted_access);
        break;
    default:
        return fail(known_file_class(cls) ? status::not_supported : status::invalid_info_class);
    }
    encoded e;
    e.data = w.take();
    e.fixed = e.data.size();
    return e;
}

encoded query_fs(const vfs::file_open& f, uint8_t cls, const tree_connect& tree) {
    struct statvfs sv;
    if (::fstatvfs(f.fd(), &sv) != 0) {
        return fail(vfs::errno_to_status(errno));
    }
    auto fi = f.info();
    uint32_t serial = fi ? uint32_t(fi->device ^ (fi->device >> 32)) : 0;
    fscc::fs_stats s;
    uint64_t unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    s.bytes_per_sector = 512;
    s.sectors_per_unit = uint32_t(std::max<uint64_t>(1, unit / 512));
    uint64_t scale = std::max<uint64_t>(1, unit / (uint64_t(s.sectors_per_unit) * 512));
    s.total_units = sv.f_blocks * scale;
    s.free_units = sv.f_bavail * scale;
    s.available_units = sv.f_bfree * scale;
    encoded e;
    byte_writer w;
    switch (cls) {
    case fscc::fs_volume_information:
        fscc::put_fs_volume(w, 0, serial, tree.share.name);
        e.fixed = fs_volume_fixed;
        break;
    case fscc::fs_size_information:
        fscc::put_fs_size(w, s);
        break;
    case fscc::fs_full_size_information:
        fscc::put_fs_full_size(w, s);
        break;
    case fscc::fs_device_information:
        fscc::put_fs_device(w);
        break;
    case fscc::fs_attribute_information:
        // Only what is true: names keep their case and are Unicode; lookups ignore
        // case; EAs, named streams and NT ACLs (in xattrs); sparse files (FSCTL_SET_SPARSE,
        // fsctl_sparse.cc); no object ids, no block cloning advertised (whether the
        // share's file system clones is known only when FICLONERANGE answers).
        fscc::put_fs_attribute(w,
                               fscc::fs_case_preserved_names | fscc::fs_unicode_on_disk |
                                   fscc::fs_named_streams | fscc::fs_persistent_acls |
                                   fscc::fs_supports_sparse_files |
                                   fscc::fs_supports_extended_attributes,
                               255, "NTFS");
        e.fixed = fs_attribute_fixed;
        break;
    case fscc::fs_sector_size_information:
        fscc::put_fs_sector_size(w, 512);
        break;
    case fscc::fs_object_id_information: {
        uint8_t id[16] = {};
        for (int i = 0; i < 8 && fi; ++i) {
            id[i] = uint8_t(fi->device >> (8 * i));
        }
        fscc::put_fs_object_id(w, id);
        break;
    }
    case fscc::fs_control_information:
        // No quotas: thresholds and limits unset (MS-FSCC 2.5.2).
        w.zeros(24);
        w.u64(~0ULL); // DefaultQuotaThreshold
        w.u64(~0ULL); // DefaultQuotaLimit
        w.u32(0);     // FileSystemControlFlags
        w.u32(0);
        break;
    case fscc::fs_label_information:
    case fscc::fs_driver_path_information:
    case fscc::fs_volume_flags_information:
        return fail(status::not_supported);
    default:
        return fail(status::invalid_info_class);
    }
    e.data = w.take();
    if (!e.fixed) {
        e.fixed = e.data.size();
    }
    return e;
}

} // namespace

void handle_query_info(request& req, response& resp) {
    auto b = req.body();
    b.u16(); // StructureSize: the command table checked it
    uint8_t info_type = b.u8();
    uint8_t info_class = b.u8();
    uint32_t output_length = b.u32();
    uint16_t input_offset = b.u16();
    b.u16(); // Reserved
    uint32_t input_length = b.u32();
    uint32_t additional = b.u32();
    query_input in;
    in.flags = b.u32();
    in.output_length = output_length;
    file_id id = vfs::read_file_id(b);
    if (!b.ok()) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto input = req.buffer_at(input_offset, input_length, header_size + 40);
    if (!input) {
        resp.fail(status::invalid_parameter);
        return;
    }
    in.buffer = *input;
    if (output_length > connection::max_transact_size) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto h = open_or_fail(req, resp, id);
    if (!h) {
        return;
    }
    auto f = vfs::as_file_open(h);
    encoded e;
    if (info_type == info_file) {
        e = f ? query_file(*f, info_class, req.conn, in) : query_pipe(*h, info_class);
    } else if (info_type == info_filesystem) {
        e = f ? query_fs(*f, info_class, *req.tree) : fail(status::not_supported);
    } else if (info_type == info_security) {
        if (!(h->granted_access & vfs::read_control)) {
            resp.fail(status::access_denied);
            return;
        }
        // 3.3.5.20.3: the parts AdditionalInformation names; a SACL only for an open
        // with ACCESS_SYSTEM_SECURITY. Never truncated: BUFFER_TOO_SMALL carries the
        // size needed as its 4-byte ErrorData.
        if (!(h->granted_access & vfs::access_system_security)) {
            additional &= ~vfs::sacl_security_information;
        }
        auto sd = f ? vfs::effective_security_descriptor(f->fd())
                    : vfs::default_security_descriptor(::geteuid(), ::getegid(), false);
        e.data = vfs::encode_security_descriptor(sd, additional);
        if (e.data.size() > output_length) {
            resp.fail(status::buffer_too_small);
            byte_writer need;
            need.u32(uint32_t(e.data.size()));
            resp.error_data = need.take();
            return;
        }
    } else if (info_type == info_quota) {
        e = fail(status::not_supported);
    } else {
        e = fail(status::invalid_parameter);
    }
    if (e.status != status::success) {
        resp.fail(e.status);
        return;
    }
    if (output_length < e.fixed) {
        resp.fail(status::info_length_mismatch);
        return;
    }
    if (!e.data.empty() && e.data.size() < e.fixed) {
        e.data.resize(e.fixed); // a short name still fills the structure
    }
    uint32_t st = e.warning;
    if (e.data.size() > output_length) {
        e.data.resize(output_length);
        st = status::buffer_overflow;
    }
    auto& w = resp.body;
    w.u16(9);
    w.u16(uint16_t(header_size + 8));
    w.u32(uint32_t(e.data.size()));
    w.put(e.data);
    resp.status = st;
}

} // namespace smbx::smb2
