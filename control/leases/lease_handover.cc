#include "control/leases/lease_handover.hh"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "common/log.hh"

namespace smbx::leases {

namespace {
constexpr const char* env_name = "SMBX_LEASE_STATE_FD";
}

int hand_over_lease_state(const bytes& snapshot) {
    int fd = memfd_create("smbx-lease-state", 0); // no MFD_CLOEXEC: the new image reads it
    if (fd < 0) {
        LOG_ERROR("lease state handover: memfd_create: %s", strerror(errno));
        return -1;
    }
    size_t done = 0;
    while (done < snapshot.size()) {
        ssize_t n = write(fd, snapshot.data() + done, snapshot.size() - done);
        if (n <= 0) {
            LOG_ERROR("lease state handover: write: %s", strerror(errno));
            close(fd);
            return -1;
        }
        done += size_t(n);
    }
    setenv(env_name, std::to_string(fd).c_str(), 1);
    return fd;
}

void cancel_lease_handover(int fd) {
    if (fd >= 0) {
        close(fd);
    }
    unsetenv(env_name);
}

std::optional<bytes> take_lease_state() {
    const char* v = getenv(env_name);
    if (!v) {
        return std::nullopt;
    }
    int fd = atoi(v);
    unsetenv(env_name); // not for the data plane's environment
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 0) {
        LOG_ERROR("lease state handover: descriptor %s is not open", v);
        return std::nullopt;
    }
    bytes data(size_t(st.st_size));
    size_t done = 0;
    while (done < data.size()) {
        ssize_t n = pread(fd, data.data() + done, data.size() - done, off_t(done));
        if (n <= 0) {
            LOG_ERROR("lease state handover: read: %s", strerror(errno));
            close(fd);
            return std::nullopt;
        }
        done += size_t(n);
    }
    close(fd);
    return data;
}

} // namespace smbx::leases
