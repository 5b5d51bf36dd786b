// The fuzz targets' invariant check: a broken one names its line, then crashes so that
// libFuzzer keeps the input as a reproducer.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace smbx::fuzzing {

inline void check(bool ok, const char* file = __builtin_FILE(), int line = __builtin_LINE()) {
    if (!ok) {
        fprintf(stderr, "%s:%d: invariant broken\n", file, line);
        std::abort();
    }
}

} // namespace smbx::fuzzing
