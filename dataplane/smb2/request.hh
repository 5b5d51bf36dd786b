// What a command handler receives and fills in. The engine (dispatch.cc) has already
// checked the header, StructureSize, the session and the tree connect the command
// needs, and verified the signature (request_checks.hh); the handler parses its body
// with byte_reader and writes the response body. Offsets inside a response body are
// from the start of the SMB2 header, so a handler computes them with
// response::next_offset().
#pragma once

#include <memory>
#include <optional>

#include "common/ntstatus.hh"
#include "dataplane/runtime/buffer_pool.hh"
#include "dataplane/smb2/connection.hh"
#include "dataplane/smb2/deferred_file_io.hh"
#include "dataplane/smb2/read_write.hh"
#include "dataplane/smb2/wire.hh"

namespace smbx::smb2 {

struct request {
    connection& conn;
    header hdr;
    byte_span message; // this request's header and body (not the rest of a compound)
    session* sess = nullptr;
    tree_connect* tree = nullptr;
    file_id* chain_file_id = nullptr; // last FileId of a related compound (3.3.5.2.7.2)
    bool last_in_chain = true;        // only the last request of a chain may go async
    bool encrypted = false;           // it came inside a TRANSFORM_HEADER
    uint64_t async_id = 0;            // set by go_async() (async_ops.hh)
    // A CREATE run again after its sharing violation broke other clients' handle
    // caching (create.cc): a second violation is final.
    bool handle_caching_broken = false;
    // Holds `tree` while the request runs, should another channel disconnect it.
    std::shared_ptr<tree_connect> tree_ref = nullptr;
    // A READ's or WRITE's fields, parsed once by the engine (read_write.hh); null when
    // a test calls the handler directly, which then parses them itself.
    const read_write_request* read_write = nullptr;
    // It runs on a polling worker, so its file I/O must not wait: what may wait goes to
    // the worker's asynchronous file I/O (response::deferred_io).
    bool on_worker = false;

    // Reader over the whole request, positioned at the start of the body.
    byte_reader body() const {
        byte_reader r(message);
        r.seek(header_size);
        return r;
    }
    // A variable-length field addressed by (offset, length) from the header start, as
    // most requests carry one (2.2.x Buffer). Empty when length is 0; nullopt when it
    // starts inside the fixed part (`fixed_end`) or leaves the message.
    std::optional<byte_span> buffer_at(uint32_t offset, uint32_t length, size_t fixed_end) const {
        if (length == 0) {
            return byte_span{};
        }
        byte_reader msg(message);
        auto field = msg.at(offset, length);
        if (!msg.ok() || offset < fixed_end) {
            return std::nullopt;
        }
        return field;
    }
    // Finds an open of the request's session by FileId (3.3.1.8 Session.OpenTable: an
    // open is reachable from every channel of its session). The all-ones FileId names the chain's
    // current open only in a related request (3.3.5.2.7.2); any other open found becomes the
    // chain's current open, as a CREATE's does, so the next related request can use it.
    std::shared_ptr<open_handle> find_open(const file_id& id) const {
        if (id.is_related_placeholder()) {
            if (!hdr.is_related() || !chain_file_id) {
                return nullptr;
            }
            return sess ? conn.find_open(*sess, *chain_file_id) : nullptr;
        }
        auto h = sess ? conn.find_open(*sess, id) : nullptr;
        if (h && chain_file_id) {
            *chain_file_id = id;
        }
        return h;
    }
};

struct response {
    uint32_t status = status::success;
    byte_writer body;
    bool error_body = false; // set by fail(): the engine writes the 2.2.2 ERROR body
    bool disconnect = false; // close the connection instead of answering (e.g. 3.3.5.15.12)
    // ErrorData of the ERROR body (2.2.2), set after fail(): e.g. the 4-byte size
    // BUFFER_TOO_SMALL needs (3.3.5.20.3).
    bytes error_data;
    bool pending = false; // set by go_async(): the engine sends an interim response
    // Set by a handler running on a worker whose file I/O may wait: nothing answered
    // yet; the engine runs the I/O on the worker's queue and the response is finished in
    // its completion (deferred_file_io.hh).
    std::unique_ptr<deferred_file_io> deferred_io;
    // READ data, sent after the body from the pool buffer the file was read into.
    pool_buffer payload;

    size_t next_offset() const { return header_size + body.size(); }
    // Fails the request: the engine sends SMB2 ERROR Response (2.2.2) with `st`.
    void fail(uint32_t st) {
        status = st;
        body = byte_writer();
        payload.reset();
        error_body = true;
    }
};

} // namespace smbx::smb2
