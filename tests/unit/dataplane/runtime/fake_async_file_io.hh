// An async_file_io whose operations wait in a queue until the test completes them: by
// doing them for real (pread, pwrite, fdatasync, fsync), or with an injected result, such as
// the EIO or ENOSPC a test cannot get from the disk under it.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <deque>

#include "dataplane/runtime/async_file_io.hh"

namespace smbx::testing {

class fake_async_file_io : public async_file_io {
public:
    enum class kind { read, write, sync_data, sync_file };
    struct operation {
        kind what;
        int fd;
        uint8_t* data;
        size_t length;
        uint64_t offset;
        completion done;
    };

    void read(int fd, uint8_t* data, size_t length, uint64_t offset, completion done) override {
        queued.push_back({kind::read, fd, data, length, offset, std::move(done)});
    }
    void write(int fd, const uint8_t* data, size_t length, uint64_t offset,
               completion done) override {
        queued.push_back(
            {kind::write, fd, const_cast<uint8_t*>(data), length, offset, std::move(done)});
    }
    void sync_data(int fd, completion done) override {
        queued.push_back({kind::sync_data, fd, nullptr, 0, 0, std::move(done)});
    }
    void sync_file(int fd, completion done) override {
        queued.push_back({kind::sync_file, fd, nullptr, 0, 0, std::move(done)});
    }

    // The oldest operation, done for real; false when none is queued.
    bool complete_next() {
        if (queued.empty()) {
            return false;
        }
        auto op = take();
        ssize_t r = 0;
        switch (op.what) {
        case kind::read:
            r = ::pread(op.fd, op.data, op.length, off_t(op.offset));
            break;
        case kind::write:
            r = ::pwrite(op.fd, op.data, op.length, off_t(op.offset));
            break;
        case kind::sync_data:
            r = ::fdatasync(op.fd);
            break;
        case kind::sync_file:
            r = ::fsync(op.fd);
            break;
        }
        op.done(r < 0 ? -errno : r);
        return true;
    }
    // The oldest operation ends with -err, without touching the file.
    void fail_next(int err) { take().done(-err); }
    // Completes operations for real until none is left (a completion may queue more).
    void run_all() {
        while (complete_next()) {
        }
    }

    std::deque<operation> queued;
    std::vector<kind> history; // every operation completed, in order

private:
    operation take() {
        operation op = std::move(queued.front());
        queued.pop_front();
        history.push_back(op.what);
        return op;
    }
};

} // namespace smbx::testing
