#include "dataplane/dpdk/af_xdp_probe.hh"

#include <dirent.h>
#include <linux/if_xdp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#ifndef SOL_XDP
#define SOL_XDP 283
#endif

namespace smbx::dpdk {

namespace {

// "prod/cons[w]" of the ring at page offset `pgoff`, `w` when NEED_WAKEUP is set.
std::string ring_state(int fd, const xdp_ring_offset& off, off_t pgoff) {
    size_t len = off.flags + sizeof(uint32_t);
    void* map = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd, pgoff);
    if (map == MAP_FAILED) {
        return "?";
    }
    auto at = [map](uint64_t o) {
        return *reinterpret_cast<volatile uint32_t*>(static_cast<char*>(map) + o);
    };
    char text[48];
    std::snprintf(text, sizeof text, "%u/%u%s", at(off.producer), at(off.consumer),
                  (at(off.flags) & XDP_RING_NEED_WAKEUP) ? "w" : "");
    munmap(map, len);
    return text;
}

} // namespace

std::string af_xdp_probe() {
    std::string out;
    DIR* dir = opendir("/proc/self/fd");
    if (!dir) {
        return out;
    }
    while (dirent* e = readdir(dir)) {
        int fd = std::atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dirfd(dir)) {
            continue;
        }
        xdp_statistics st{};
        socklen_t len = sizeof st;
        if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &st, &len) != 0) {
            continue; // not an AF_XDP socket
        }
        xdp_mmap_offsets off{};
        len = sizeof off;
        if (getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &len) != 0) {
            continue;
        }
        char line[400];
        std::snprintf(line, sizeof line,
                      "xsk fd %d: rx_dropped=%llu rx_ring_full=%llu rx_fill_empty=%llu "
                      "rx_invalid=%llu tx_invalid=%llu tx_ring_empty=%llu rings prod/cons: rx %s "
                      "fill %s tx %s comp %s\n",
                      fd, (unsigned long long)st.rx_dropped, (unsigned long long)st.rx_ring_full,
                      (unsigned long long)st.rx_fill_ring_empty_descs,
                      (unsigned long long)st.rx_invalid_descs,
                      (unsigned long long)st.tx_invalid_descs,
                      (unsigned long long)st.tx_ring_empty_descs,
                      ring_state(fd, off.rx, XDP_PGOFF_RX_RING).c_str(),
                      ring_state(fd, off.fr, off_t(XDP_UMEM_PGOFF_FILL_RING)).c_str(),
                      ring_state(fd, off.tx, off_t(XDP_PGOFF_TX_RING)).c_str(),
                      ring_state(fd, off.cr, off_t(XDP_UMEM_PGOFF_COMPLETION_RING)).c_str());
        out += line;
    }
    closedir(dir);
    return out;
}

} // namespace smbx::dpdk
