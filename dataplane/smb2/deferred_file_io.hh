// The file I/O of a READ or WRITE that a worker runs without waiting for it
// (read_write.cc). The handler has checked the request and describes its I/O here
// (response::deferred_io); the engine suspends the request, starts the I/O on the
// worker's asynchronous queue (runtime/async_file_io.hh) and, in the completion on the
// same worker, finishes the response (dispatch.hh start_suspended, finish_suspended).
#pragma once

#include <functional>

#include "dataplane/runtime/async_file_io.hh"

namespace smbx::smb2 {

struct request;
struct response;

class deferred_file_io {
public:
    virtual ~deferred_file_io() = default;
    // Queues the I/O on `io`; `done` runs (on io's thread) once it ended, after which
    // complete() fills the response. `done` owns what the I/O's buffers live in.
    virtual void start(async_file_io& io, std::function<void()> done) = 0;
    virtual void complete(request& req, response& resp) = 0;
};

} // namespace smbx::smb2
