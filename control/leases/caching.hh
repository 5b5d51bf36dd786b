// What a client may cache of a file, the one currency of oplocks and leases: read,
// handle and write caching (MS-SMB2 2.2.13.2.8 SMB2_LEASE_*_CACHING; MS-FSA 2.1.1.10
// READ_CACHING, HANDLE_CACHING, WRITE_CACHING). An oplock is a caching state too
// (MS-SMB2 2.2.14 OplockLevel): level II reads, exclusive reads and writes, batch also
// keeps the handle open after the client closed it.
#pragma once

#include <cstdint>

namespace smbx::leases {

namespace caching {
constexpr uint8_t none = 0;
constexpr uint8_t read = 0x01;   // SMB2_LEASE_READ_CACHING
constexpr uint8_t handle = 0x02; // SMB2_LEASE_HANDLE_CACHING
constexpr uint8_t write = 0x04;  // SMB2_LEASE_WRITE_CACHING
constexpr uint8_t all = read | handle | write;

// The lease states a server grants (3.3.5.9.8): none, R, RH, RW, RWH. Handle or write
// caching without read caching is not one of them.
constexpr bool valid_lease_state(uint8_t s) {
    return s == none || ((s & ~all) == 0 && (s & read) != 0);
}
constexpr bool subset(uint8_t a, uint8_t b) {
    return (a & ~b) == 0;
}
} // namespace caching

// SMB2 OplockLevel (2.2.14) and the caching each stands for.
enum class oplock_level : uint8_t {
    none = 0x00,
    level_ii = 0x01,
    exclusive = 0x08,
    batch = 0x09,
    lease = 0xFF,
};

constexpr uint8_t caching_of(oplock_level l) {
    switch (l) {
    case oplock_level::level_ii:
        return caching::read;
    case oplock_level::exclusive:
        return caching::read | caching::write;
    case oplock_level::batch:
        return caching::all;
    default:
        return caching::none;
    }
}

// The oplock level that a caching state is (none for one that is no oplock's).
constexpr oplock_level oplock_of(uint8_t c) {
    switch (c) {
    case caching::read:
        return oplock_level::level_ii;
    case caching::read | caching::write:
        return oplock_level::exclusive;
    case caching::all:
        return oplock_level::batch;
    default:
        return oplock_level::none;
    }
}

} // namespace smbx::leases
