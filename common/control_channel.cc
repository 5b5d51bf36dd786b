#include "common/control_channel.hh"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace smbx {

namespace {
size_t ring_bytes() {
    return shm_ring::bytes_needed(control_channel::slot_count, control_channel::slot_size);
}
size_t round_up(size_t v, size_t a) { return (v + a - 1) / a * a; }
} // namespace

bool control_channel::create() {
    // Not MFD_CLOEXEC: the data plane inherits this descriptor across exec.
    int fd = memfd_create("smbx-control-channel", 0);
    if (fd < 0) {
        return false;
    }
    size_t first = round_up(sizeof(control_channel_layout), 4096);
    size_t total = first + 2 * round_up(ring_bytes(), 4096);
    if (ftruncate(fd, static_cast<off_t>(total)) != 0) {
        close(fd);
        return false;
    }
    void* p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        close(fd);
        return false;
    }
    _fd = fd;
    _layout = static_cast<control_channel_layout*>(p);
    _layout->magic = control_channel_layout::magic_value;
    _layout->version = control_channel_layout::version_value;
    _layout->dataplane_pid = 0;
    _layout->settings = dataplane_settings{};
    _layout->to_control_offset = first;
    _layout->to_dataplane_offset = first + round_up(ring_bytes(), 4096);
    _layout->total_size = total;
    auto* base = static_cast<uint8_t*>(p);
    _to_control = shm_ring::format(base + _layout->to_control_offset, slot_count, slot_size);
    _to_dataplane = shm_ring::format(base + _layout->to_dataplane_offset, slot_count, slot_size);
    return true;
}

bool control_channel::attach(int fd) {
    struct stat st {};
    if (fstat(fd, &st) != 0 || size_t(st.st_size) < sizeof(control_channel_layout)) {
        return false;
    }
    void* p = mmap(nullptr, size_t(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        return false;
    }
    auto* l = static_cast<control_channel_layout*>(p);
    if (l->magic != control_channel_layout::magic_value ||
        l->version != control_channel_layout::version_value || l->total_size != size_t(st.st_size) ||
        l->to_control_offset + ring_bytes() > l->total_size ||
        l->to_dataplane_offset + ring_bytes() > l->total_size) {
        munmap(p, size_t(st.st_size));
        return false;
    }
    _fd = fd;
    _layout = l;
    auto* base = static_cast<uint8_t*>(p);
    _to_control = shm_ring::attach(base + l->to_control_offset, slot_count, slot_size);
    _to_dataplane = shm_ring::attach(base + l->to_dataplane_offset, slot_count, slot_size);
    return true;
}

} // namespace smbx
