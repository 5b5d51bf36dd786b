#include "dataplane/smb2/fsctl_copychunk.hh"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>

#include "common/log.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/smb2/crypto.hh"
#include "dataplane/smb2/fsctl.hh"
#include "dataplane/vfs/access.hh"
#include "dataplane/vfs/file_copy.hh"
#include "dataplane/vfs/open_lookup.hh"
#include "dataplane/vfs/share_path.hh"

namespace smbx::smb2 {

namespace {

constexpr size_t copy_header_size = resume_key_size + 8; // SourceKey, ChunkCount, Reserved
constexpr size_t chunk_size = 24;                        // SRV_COPYCHUNK
constexpr size_t tag_size = resume_key_size - 16;        // after the FileId's 16 bytes

// The keyed hash's secret: drawn once per process, so keys die with the data plane
// (as the opens they name do).
const std::array<uint8_t, 32>& resume_key_secret() {
    static const std::array<uint8_t, 32> secret = [] {
        std::array<uint8_t, 32> s{};
        if (RAND_bytes(s.data(), int(s.size())) != 1) {
            LOG_ERROR("RAND_bytes failed: no resume-key secret");
            std::abort();
        }
        return s;
    }();
    return secret;
}

std::array<uint8_t, tag_size> resume_key_tag(uint64_t session_id, const file_id& fid) {
    byte_writer msg;
    msg.u64(session_id);
    msg.u64(fid.persistent);
    msg.u64(fid.volatile_id);
    const auto& secret = resume_key_secret();
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    HMAC(EVP_sha256(), secret.data(), int(secret.size()), msg.buffer().data(), msg.size(), md,
         &md_len);
    std::array<uint8_t, tag_size> tag{};
    std::memcpy(tag.data(), md, tag.size());
    return tag;
}

void answer(response& resp, const ioctl_request& in, uint32_t st, uint32_t chunks,
            uint32_t chunk_bytes, uint32_t total) {
    resp.status = st;
    write_ioctl_body(resp, in, encode_copychunk_response(chunks, chunk_bytes, total));
}

} // namespace

std::optional<copychunk_copy> parse_copychunk_copy(byte_span input) {
    byte_reader r(input);
    copychunk_copy copy;
    r.copy_to(copy.source_key.data(), copy.source_key.size());
    uint32_t count = r.u32();
    r.skip(4); // Reserved
    if (!r.ok() || count > copychunk_max_chunks ||
        input.size() < copy_header_size + size_t(count) * chunk_size) {
        return std::nullopt;
    }
    uint64_t total = 0;
    copy.chunks.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
        copychunk_chunk c;
        c.source_offset = r.u64();
        c.target_offset = r.u64();
        c.length = r.u32();
        r.skip(4); // Reserved
        total += c.length;
        if (c.length == 0 || c.length > copychunk_max_chunk_size ||
            total > copychunk_max_data_size || c.source_offset > uint64_t(INT64_MAX) - c.length ||
            c.target_offset > uint64_t(INT64_MAX) - c.length) {
            return std::nullopt;
        }
        copy.chunks.push_back(c);
    }
    if (!r.ok()) {
        return std::nullopt;
    }
    return copy;
}

bytes encode_copychunk_response(uint32_t chunks_written, uint32_t chunk_bytes_written,
                                uint32_t total_bytes_written) {
    byte_writer w;
    w.u32(chunks_written);
    w.u32(chunk_bytes_written);
    w.u32(total_bytes_written);
    return w.take();
}

resume_key make_resume_key(uint64_t session_id, const file_id& fid) {
    byte_writer w;
    w.u64(fid.persistent);
    w.u64(fid.volatile_id);
    auto tag = resume_key_tag(session_id, fid);
    w.put(tag.data(), tag.size());
    resume_key key{};
    std::memcpy(key.data(), w.buffer().data(), key.size());
    return key;
}

std::optional<file_id> resume_key_open(const resume_key& key, uint64_t session_id) {
    byte_reader r(byte_span(key.data(), key.size()));
    file_id fid;
    fid.persistent = r.u64();
    fid.volatile_id = r.u64();
    auto tag = resume_key_tag(session_id, fid);
    if (!crypto::equal_constant_time(byte_span(key.data() + 16, tag_size),
                                     byte_span(tag.data(), tag.size()))) {
        return std::nullopt;
    }
    return fid;
}

// FSCTL_SRV_REQUEST_RESUME_KEY (3.3.5.15.5): any open of a file may be a copy's source;
// the access it needs (FILE_READ_DATA) is checked when a copy names it, as Windows does
// (smbtorture smb2.ioctl.copy_chunk_bad_access asks a key of a write-only open).
void handle_request_resume_key(request& req, response& resp, const ioctl_request& in) {
    auto f = fsctl_file(req, resp, in);
    if (!f) {
        return;
    }
    // SRV_REQUEST_RESUME_KEY Response (2.2.32.3): the key, ContextLength 0 and the 4
    // reserved Context bytes Windows sends (32 bytes; clients ask for 32).
    constexpr uint32_t reply_size = resume_key_size + 8;
    if (in.max_output < reply_size) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto key = make_resume_key(req.sess->id, f->id);
    byte_writer out;
    out.put(key.data(), key.size());
    out.u32(0);
    out.u32(0);
    write_ioctl_body(resp, in, out.buffer());
}

// FSCTL_SRV_COPYCHUNK / FSCTL_SRV_COPYCHUNK_WRITE (3.3.5.15.6). Runs on a request
// thread (IOCTL's placement in dispatch.cc): a copy of up to 16 MiB waits for the disk.
void handle_copychunk(request& req, response& resp, const ioctl_request& in) {
    auto target = fsctl_file(req, resp, in);
    if (!target) {
        return;
    }
    if (in.max_output < copychunk_response_size) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto copy = parse_copychunk_copy(in.input);
    if (!copy) {
        // 3.3.5.15.6.2: INVALID_PARAMETER carrying the server's limits, so the client can
        // reissue the copy within them.
        answer(resp, in, status::invalid_parameter, copychunk_max_chunks, copychunk_max_chunk_size,
               copychunk_max_data_size);
        return;
    }
    // Only an open of the requesting session: a key never reaches another session's
    // open, even one the same user holds (stricter than Windows' global table).
    auto fid = resume_key_open(copy->source_key, req.sess->id);
    auto source = fid ? vfs::as_file_open(req.conn.find_open(*req.sess, *fid)) : nullptr;
    if (!source || source->session_id != req.sess->id) {
        resp.fail(status::object_name_not_found);
        return;
    }
    // The target needs FILE_WRITE_DATA; FSCTL_SRV_COPYCHUNK also FILE_READ_DATA on it,
    // FSCTL_SRV_COPYCHUNK_WRITE not (3.3.5.15.6); the source FILE_READ_DATA or, as
    // Windows accepts (smbtorture smb2.ioctl.copy_chunk_bad_access), FILE_EXECUTE.
    bool target_read_needed = in.ctl_code == fsctl_srv_copychunk;
    if (!(target->granted_access & vfs::file_write_data) ||
        (target_read_needed && !(target->granted_access & vfs::file_read_data)) ||
        !(source->granted_access & (vfs::file_read_data | vfs::file_execute))) {
        resp.fail(status::access_denied);
        return;
    }
    if (source->is_directory() || target->is_directory()) {
        resp.fail(status::invalid_device_request);
        return;
    }
    if (source->is_stream() || target->is_stream()) {
        // A named stream's data lives in an xattr (vfs/streams.hh), not in the fd.
        resp.fail(status::not_supported);
        return;
    }
    int src_fd = source->buffered_fd();
    int dst_fd = target->buffered_fd();
    uint32_t chunks_written = 0;
    uint32_t total = 0;
    for (const auto& c : copy->chunks) {
        // A chunk beyond the source's end: INVALID_VIEW_SIZE, as Windows answers
        // (smbtorture smb2.ioctl.copy_chunk_src_exceed); the chunks before it stay.
        struct stat st {};
        if (::fstat(src_fd, &st) != 0) {
            answer(resp, in, vfs::errno_to_status(errno), chunks_written, 0, total);
            return;
        }
        if (c.source_offset + c.length > uint64_t(st.st_size)) {
            answer(resp, in, status::invalid_view_size, chunks_written, 0, total);
            return;
        }
        // Byte-range locks hold against the copy as against READ and WRITE (Windows
        // 2012 and later copy with ReadFile/WriteFile: FILE_LOCK_CONFLICT).
        uint32_t lock_st =
            source->state()->locks.check_io(source.get(), c.source_offset, c.length, false);
        if (!lock_st) {
            lock_st =
                target->state()->locks.check_io(target.get(), c.target_offset, c.length, true);
        }
        if (lock_st) {
            answer(resp, in, lock_st, chunks_written, 0, total);
            return;
        }
        auto r = vfs::copy_file_data(src_fd, c.source_offset, dst_fd, c.target_offset, c.length);
        counters::add(counters::data().server_copy_bytes, r.copied);
        total += uint32_t(r.copied);
        if (r.copied < c.length) {
            uint32_t st_copy = r.error ? vfs::errno_to_status(r.error) : status::invalid_view_size;
            answer(resp, in, st_copy, chunks_written, uint32_t(r.copied), total);
            return;
        }
        ++chunks_written;
    }
    answer(resp, in, status::success, chunks_written, 0, total);
}

} // namespace smbx::smb2
