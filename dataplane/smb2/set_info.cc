// SMB2 SET_INFO (MS-SMB2 2.2.39, 2.2.40, 3.3.5.21). File classes: Basic, Rename (the
// SMB2 form of MS-FSCC 2.4.37.2), Disposition(Ex), EndOfFile, Allocation, Position,
// Mode. Security descriptors are merged into the stored one (see
// vfs/security_descriptor.hh); quotas and file-system settings are not supported.
#include "dataplane/smb2/fscc.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/lease_router.hh"
#include "dataplane/smb2/open_lookup.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/extended_attributes.hh"
#include "dataplane/vfs/file_changes.hh"
#include "dataplane/vfs/security_descriptor.hh"

namespace smbx::smb2 {

namespace {

constexpr size_t set_info_fixed_end = header_size + 32;

// FileDispositionInformationEx flags (MS-FSCC 2.4.13)
constexpr uint32_t disposition_delete = 0x01;
constexpr uint32_t disposition_on_close = 0x08;
constexpr uint32_t disposition_ignore_readonly = 0x10;

// FileModeInformation bits a client may set (MS-FSA 2.1.5.14.8).
constexpr uint32_t settable_mode = vfs::file_write_through | vfs::file_sequential_only |
                                   vfs::file_synchronous_io_alert |
                                   vfs::file_synchronous_io_nonalert;

size_t fixed_size(uint8_t cls) {
    switch (cls) {
    case fscc::file_basic_information:
        return 40;
    case fscc::file_rename_information:
        return 20;
    case fscc::file_disposition_information:
        return 1;
    case fscc::file_disposition_information_ex:
    case fscc::file_mode_information:
        return 4;
    case fscc::file_end_of_file_information:
    case fscc::file_allocation_information:
    case fscc::file_position_information:
        return 8;
    default:
        return 0;
    }
}

uint32_t required_access(uint8_t cls) {
    switch (cls) {
    case fscc::file_basic_information:
        return vfs::file_write_attributes;
    case fscc::file_rename_information:
    case fscc::file_disposition_information:
    case fscc::file_disposition_information_ex:
        return vfs::delete_access;
    case fscc::file_end_of_file_information:
    case fscc::file_allocation_information:
        return vfs::file_write_data;
    default:
        return 0;
    }
}

uint32_t set_file(vfs::file_open& f, uint8_t cls, byte_span buf) {
    if (!fixed_size(cls)) {
        switch (cls) {
        case fscc::file_link_information:
        case fscc::file_short_name_information:
        case fscc::file_valid_data_length_information:
        case fscc::file_object_id_information:
        case fscc::file_rename_information_ex:
            return status::not_supported;
        case fscc::file_full_ea_information: {
            // MS-FSA 2.1.5.14.4: an empty value removes the EA.
            if (!(f.granted_access & vfs::file_write_ea)) {
                return status::access_denied;
            }
            auto parsed = vfs::parse_full_ea_list(buf);
            if (parsed.status != status::success) {
                return parsed.status;
            }
            return vfs::set_eas(f.fd(), parsed.eas);
        }
        default:
            return status::invalid_info_class;
        }
    }
    if (buf.size() < fixed_size(cls)) {
        return status::info_length_mismatch;
    }
    uint32_t need = required_access(cls);
    if ((f.granted_access & need) != need) {
        return status::access_denied;
    }
    byte_reader r(buf);
    switch (cls) {
    case fscc::file_basic_information: {
        vfs::basic_change c;
        c.creation_time = int64_t(r.u64());
        c.last_access_time = int64_t(r.u64());
        c.last_write_time = int64_t(r.u64());
        c.change_time = int64_t(r.u64());
        c.attributes = r.u32();
        return vfs::set_basic(f, c);
    }
    case fscc::file_rename_information: {
        bool replace = r.u8();
        r.skip(7);
        uint64_t root_directory = r.u64();
        uint32_t name_length = r.u32();
        auto name = r.take(name_length);
        if (!r.ok() || root_directory != 0 || name_length == 0) {
            return status::invalid_parameter;
        }
        if (name.size() >= 2 && name[0] == ':' && name[1] == 0) {
            return vfs::rename_stream(f, name, replace); // ":stream[:$DATA]"
        }
        auto target = vfs::parse_smb_name(name, {.allow_leading_separator = true});
        if (target.status != status::success) {
            return target.status;
        }
        return vfs::rename_open(f, target.name, replace);
    }
    case fscc::file_disposition_information:
        return vfs::set_disposition(f, r.u8() != 0);
    case fscc::file_disposition_information_ex: {
        uint32_t flags = r.u32();
        return vfs::set_disposition(f, flags & disposition_delete,
                                    flags & disposition_ignore_readonly,
                                    flags & disposition_on_close);
    }
    case fscc::file_end_of_file_information:
        tell_write(f); // a size change breaks read caching (MS-FSA 2.1.5.14.4)
        return vfs::set_end_of_file(f, r.u64());
    case fscc::file_allocation_information:
        tell_write(f);
        return vfs::set_allocation_size(f, r.u64());
    case fscc::file_position_information: {
        uint64_t pos = r.u64();
        if ((f.mode & vfs::file_no_intermediate_buffering) && pos % 512) {
            return status::invalid_parameter;
        }
        f.position = pos;
        return status::success;
    }
    case fscc::file_mode_information: {
        uint32_t mode = r.u32();
        if (mode & ~settable_mode) {
            return status::invalid_parameter;
        }
        f.mode = (f.mode & ~settable_mode) | mode;
        return status::success;
    }
    default:
        return status::invalid_info_class;
    }
}

} // namespace

void handle_set_info(request& req, response& resp) {
    auto b = req.body();
    b.u16(); // StructureSize: the command table checked it
    uint8_t info_type = b.u8();
    uint8_t info_class = b.u8();
    uint32_t buffer_length = b.u32();
    uint16_t buffer_offset = b.u16();
    b.u16(); // Reserved
    uint32_t additional = b.u32();
    file_id id = vfs::read_file_id(b);
    if (!b.ok() || buffer_length > connection::max_transact_size) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto buf_field = req.buffer_at(buffer_offset, buffer_length, set_info_fixed_end);
    if (!buf_field) {
        resp.fail(status::invalid_parameter);
        return;
    }
    byte_span buf = *buf_field;
    auto h = open_or_fail(req, resp, id);
    if (!h) {
        return;
    }
    auto f = vfs::as_file_open(h);
    uint32_t st;
    if (!f) {
        st = status::not_supported; // nothing to set on a pipe
    } else if (info_type == info_file) {
        st = set_file(*f, info_class, buf);
    } else if (info_type == info_security) {
        // 3.3.5.21.3: WRITE_OWNER for owner and group, WRITE_DAC for the DACL,
        // ACCESS_SYSTEM_SECURITY for the SACL.
        uint32_t need = 0;
        if (additional & (vfs::owner_security_information | vfs::group_security_information)) {
            need |= vfs::write_owner;
        }
        if (additional & vfs::dacl_security_information) {
            need |= vfs::write_dac;
        }
        if (additional & vfs::sacl_security_information) {
            need |= vfs::access_system_security;
        }
        st = (f->granted_access & need) == need
                 ? vfs::set_security_descriptor(f->fd(), additional, buf)
                 : status::access_denied;
    } else if (info_type == info_filesystem || info_type == info_quota) {
        st = status::not_supported;
    } else {
        st = status::invalid_parameter;
    }
    if (st != status::success) {
        resp.fail(st);
        return;
    }
    resp.body.u16(2);
}

} // namespace smbx::smb2
