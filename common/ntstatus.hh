// NTSTATUS values used on the wire (MS-ERREF 2.3.1).
#pragma once

#include <cstdint>

namespace smbx::status {

constexpr uint32_t success = 0x00000000;
constexpr uint32_t pending = 0x00000103;
constexpr uint32_t notify_cleanup = 0x0000010B;
constexpr uint32_t notify_enum_dir = 0x0000010C;
constexpr uint32_t buffer_overflow = 0x80000005;
constexpr uint32_t no_more_files = 0x80000006;
constexpr uint32_t unsuccessful = 0xC0000001;
constexpr uint32_t not_implemented = 0xC0000002;
constexpr uint32_t invalid_info_class = 0xC0000003;
constexpr uint32_t info_length_mismatch = 0xC0000004;
constexpr uint32_t invalid_handle = 0xC0000008;
constexpr uint32_t invalid_parameter = 0xC000000D;
constexpr uint32_t no_such_device = 0xC000000E;
constexpr uint32_t no_such_file = 0xC000000F;
constexpr uint32_t invalid_device_request = 0xC0000010;
constexpr uint32_t end_of_file = 0xC0000011;
constexpr uint32_t more_processing_required = 0xC0000016;
constexpr uint32_t no_memory = 0xC0000017;
constexpr uint32_t invalid_view_size = 0xC000001F;
constexpr uint32_t access_denied = 0xC0000022;
constexpr uint32_t buffer_too_small = 0xC0000023;
constexpr uint32_t object_name_invalid = 0xC0000033;
constexpr uint32_t object_name_not_found = 0xC0000034;
constexpr uint32_t object_name_collision = 0xC0000035;
constexpr uint32_t object_path_invalid = 0xC0000039;
constexpr uint32_t object_path_not_found = 0xC000003A;
constexpr uint32_t object_path_syntax_bad = 0xC000003B;
constexpr uint32_t sharing_violation = 0xC0000043;
constexpr uint32_t eas_not_supported = 0xC000004F;
constexpr uint32_t ea_too_large = 0xC0000050;
constexpr uint32_t delete_pending = 0xC0000056;
constexpr uint32_t privilege_not_held = 0xC0000061;
constexpr uint32_t logon_failure = 0xC000006D;
constexpr uint32_t account_restriction = 0xC000006E;
constexpr uint32_t disk_full = 0xC000007F;
constexpr uint32_t insufficient_resources = 0xC000009A;
constexpr uint32_t file_is_a_directory = 0xC00000BA;
constexpr uint32_t not_supported = 0xC00000BB;
constexpr uint32_t network_name_deleted = 0xC00000C9;
constexpr uint32_t bad_network_name = 0xC00000CC;
constexpr uint32_t request_not_accepted = 0xC00000D0;
constexpr uint32_t pipe_not_available = 0xC00000AC;
constexpr uint32_t pipe_disconnected = 0xC00000B0;
constexpr uint32_t invalid_oplock_protocol = 0xC00000E3;
constexpr uint32_t internal_error = 0xC00000E5;
constexpr uint32_t directory_not_empty = 0xC0000101;
constexpr uint32_t not_a_directory = 0xC0000103;
constexpr uint32_t cancelled = 0xC0000120;
constexpr uint32_t file_closed = 0xC0000128;
constexpr uint32_t invalid_level = 0xC0000148;
constexpr uint32_t invalid_device_state = 0xC0000184;
constexpr uint32_t io_device_error = 0xC0000185;
constexpr uint32_t io_timeout = 0xC00000B5;
constexpr uint32_t file_invalid = 0xC0000098;
constexpr uint32_t network_session_expired = 0xC000035C;
constexpr uint32_t user_session_deleted = 0xC0000203;
constexpr uint32_t not_a_reparse_point = 0xC0000275;
constexpr uint32_t fs_driver_required = 0xC000019C;
constexpr uint32_t stopped_on_symlink = 0x8000002D;
constexpr uint32_t cannot_delete = 0xC0000121;
constexpr uint32_t file_lock_conflict = 0xC0000054;
constexpr uint32_t lock_not_granted = 0xC0000055;
constexpr uint32_t range_not_locked = 0xC000007E;
constexpr uint32_t not_same_device = 0xC00000D4;
constexpr uint32_t object_name_exists = 0x40000000;
constexpr uint32_t invalid_network_response = 0xC00000C3;
constexpr uint32_t too_many_opened_files = 0xC000011F;
constexpr uint32_t media_write_protected = 0xC00000A2;
constexpr uint32_t no_such_logon_session = 0xC000005F;
constexpr uint32_t wrong_password = 0xC000006A;
constexpr uint32_t bad_impersonation_level = 0xC00000A5;
constexpr uint32_t file_not_available = 0xC0000467;

} // namespace smbx::status
