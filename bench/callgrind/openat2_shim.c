// LD_PRELOAD shim for running smbx-dataplane under valgrind 3.19 (Debian 12), which
// does not know the openat2 system call (437) and fails it with ENOSYS, so no CREATE
// would succeed. Here openat2 becomes openat with the same flags and mode, and
// O_NOFOLLOW for RESOLVE_NO_SYMLINKS; RESOLVE_BENEATH's escape check is lost, so this is
// for benchmarking a private share only (bench/callgrind-read.sh), never for serving.
// It changes the CREATE path only, which the baseline run has as well; READs are
// untouched.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/types.h>

long syscall(long number, ...) {
    // The kernel takes six register arguments; read six whatever the caller passed,
    // as glibc's own syscall() does.
    va_list ap;
    va_start(ap, number);
    long a[6];
    for (int i = 0; i < 6; ++i) {
        a[i] = va_arg(ap, long);
    }
    va_end(ap);
    if (number == SYS_openat2) {
        const struct open_how* how = (const struct open_how*)a[2];
        int flags = (int)how->flags;
        if (how->resolve & RESOLVE_NO_SYMLINKS) {
            flags |= O_NOFOLLOW;
        }
        return openat((int)a[0], (const char*)a[1], flags, (mode_t)how->mode);
    }
    static long (*real_syscall)(long, ...);
    if (!real_syscall) {
        real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    }
    return real_syscall(number, a[0], a[1], a[2], a[3], a[4], a[5]);
}
