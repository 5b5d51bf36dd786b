// Minimal leveled logging to stderr (the supervisor and systemd collect it).
// Secrets (passwords, hashes, session keys) are never passed to these functions.
#pragma once

#include <cstdarg>

namespace smbx::log {

enum class level { error = 0, warning = 1, notice = 2, info = 3, debug = 5, trace = 10 };

void set_level(int samba_log_level);
void set_process_name(const char* name);
bool enabled(level l);
void write(level l, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

} // namespace smbx::log

#define SMBX_LOG(lvl, ...)                                                                       \
    do {                                                                                         \
        if (::smbx::log::enabled(::smbx::log::level::lvl)) {                                     \
            ::smbx::log::write(::smbx::log::level::lvl, __VA_ARGS__);                            \
        }                                                                                        \
    } while (0)
#define LOG_ERROR(...) SMBX_LOG(error, __VA_ARGS__)
#define LOG_WARN(...) SMBX_LOG(warning, __VA_ARGS__)
#define LOG_NOTICE(...) SMBX_LOG(notice, __VA_ARGS__)
#define LOG_INFO(...) SMBX_LOG(info, __VA_ARGS__)
#define LOG_DEBUG(...) SMBX_LOG(debug, __VA_ARGS__)
