#include "common/log.hh"

#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace smbx::log {

namespace {
int g_level = 1;
const char* g_name = "smbx";
} // namespace

void set_level(int samba_log_level) { g_level = samba_log_level; }
void set_process_name(const char* name) { g_name = name; }
bool enabled(level l) { return static_cast<int>(l) <= g_level; }

void write(level l, const char* fmt, ...) {
    static const char* names[] = {"error", "warning", "notice", "info"};
    int li = static_cast<int>(l);
    const char* lname = li < 4 ? names[li] : "debug";
    char line[2048];
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    tm t{};
    gmtime_r(&ts.tv_sec, &t);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ",
                     t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                     ts.tv_nsec / 1000000, g_name, getpid(), lname);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && size_t(n) < sizeof line) {
        n += vsnprintf(line + n, sizeof line - n, fmt, ap);
    }
    va_end(ap);
    if (n < 0) {
        return;
    }
    if (size_t(n) >= sizeof line - 1) {
        n = sizeof line - 2;
    }
    line[n++] = '\n';
    ssize_t r = ::write(2, line, n); // one write per line keeps lines whole across processes
    (void)r;
}

} // namespace smbx::log
