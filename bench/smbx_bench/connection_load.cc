#include "bench/smbx_bench/connection_load.hh"

#include <algorithm>

#include "bench/smbx_bench/pattern.hh"
#include "common/ntstatus.hh"

namespace smbx::bench {

namespace {

uint64_t ns_since(clock_type::time_point t) {
    return uint64_t(
        std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t).count());
}

// The fill writes in large requests whatever --bs is, so a 4k sweep point does not
// spend its setup on 4 KiB writes.
constexpr uint32_t fill_chunk = 1 << 20;
constexpr uint32_t fill_depth = 4;

} // namespace

void shared_state::fail(const std::string& what) {
    std::lock_guard lk(mu);
    if (result.error.empty()) {
        result.error = what;
    }
    abort.store(true);
}

connection_load::connection_load(const options& o, shared_state& st, uint32_t index)
    : _o(o), _st(st), _index(index),
      _gen(o.rw, o.size, o.block_size, o.seed * 0x9E3779B97F4A7C15ull + index + 1),
      _written(o.verify ? _gen.blocks() : 0, false) {}

bool connection_load::needs_fill() const {
    return _o.fill &&
           (_o.rw == rw_mode::read || _o.rw == rw_mode::randread || _o.rw == rw_mode::randrw);
}

void connection_load::setup() {
    _client.connect(_o.client);
    if (_o.block_size > _client.max_read() || _o.block_size > _client.max_write()) {
        throw smb_error("--bs " + std::to_string(_o.block_size) +
                        " exceeds the server's MaxReadSize/MaxWriteSize (" +
                        std::to_string(std::min(_client.max_read(), _client.max_write())) + ")");
    }
    if (_index == 0) {
        std::lock_guard lk(_st.mu);
        uint16_t d = _client.dialect();
        char buf[16];
        if (d & 0xF) {
            snprintf(buf, sizeof(buf), "%x.%x.%x", d >> 8, (d >> 4) & 0xF, d & 0xF);
        } else {
            snprintf(buf, sizeof(buf), "%x.%x", d >> 8, (d >> 4) & 0xF);
        }
        _st.dialect = buf;
        _st.signing = _client.signing() && !_client.encrypting();
        _st.encryption = _client.encrypting();
    }
    _fid = _client.open(_o.file_prefix + "." + std::to_string(_index) + ".dat");
    _opened = true;
    _buf.resize(_o.block_size);
    fill_pattern(_buf, 0, _o.seed);
    if (needs_fill()) {
        fill();
    }
}

// Untimed: the pattern over the whole --size, so every read can be checked (and a sweep's
// later points, whatever their block size, read what the first one wrote).
void connection_load::fill() {
    uint32_t chunk = std::max(_o.block_size, std::min(fill_chunk, _client.max_write()));
    bytes data(chunk);
    uint64_t next = 0;
    while (next < _o.size || !_pending.empty()) {
        while (next < _o.size && _pending.size() < fill_depth && _client.can_send(chunk)) {
            uint32_t len = uint32_t(std::min<uint64_t>(chunk, _o.size - next));
            std::span<uint8_t> part(data.data(), len);
            fill_pattern(part, next, _o.seed);
            _pending[_client.send_write(_fid, next, part)] = {next, request_kind::write,
                                                              clock_type::now()};
            next += len;
        }
        if (_pending.empty()) {
            throw smb_error("the server granted too few credits to fill the file");
        }
        response r = _client.receive();
        auto it = _pending.find(r.message_id);
        if (it == _pending.end()) {
            throw smb_error("a response with an unknown MessageId " + std::to_string(r.message_id));
        }
        uint64_t expected = std::min<uint64_t>(chunk, _o.size - it->second.offset);
        _pending.erase(it);
        if (r.status != status::success || r.count != expected) {
            throw smb_error("filling the file failed at a WRITE", r.status);
        }
    }
}

bool connection_load::issue_more() {
    if (clock_type::now() >= _st.deadline || _st.abort.load() || _issued_bytes >= _o.io_size ||
        _issued_ops >= _o.max_ops) {
        return false;
    }
    bool creating = _o.rw == rw_mode::create;
    while (_pending.size() < _o.iodepth && _issued_bytes < _o.io_size && _issued_ops < _o.max_ops &&
           _client.can_send(creating ? 0 : _o.block_size)) {
        if (creating) {
            send_create();
            ++_issued_ops;
            continue;
        }
        auto op = _gen.next();
        uint64_t id;
        if (op.is_write) {
            if (_o.verify) {
                fill_pattern(_buf, op.offset, _o.seed);
                _written[op.offset / _o.block_size] = true;
            }
            id = _client.send_write(_fid, op.offset, _buf);
            ++_writes_since_flush;
        } else {
            id = _client.send_read(_fid, op.offset, _o.block_size);
        }
        _pending[id] = {op.offset, op.is_write ? request_kind::write : request_kind::read,
                        clock_type::now()};
        _issued_bytes += _o.block_size;
        ++_issued_ops;
        if (_o.flush_every && _writes_since_flush >= _o.flush_every && _client.can_send(0)) {
            _writes_since_flush = 0;
            _pending[_client.send_flush(_fid)] = {0, request_kind::flush, clock_type::now()};
        }
    }
    return true;
}

std::string connection_load::create_name(uint64_t file) const {
    return _o.file_prefix + "." + std::to_string(_index) + ".create." + std::to_string(file);
}

uint64_t connection_load::send_create() {
    uint64_t file = _next_file;
    _next_file = (_next_file + 1) % _o.files;
    uint64_t id = _client.send_create(create_name(file));
    _pending[id] = {file, request_kind::create, clock_type::now()};
    return id;
}

bool connection_load::pump() {
    for (;;) {
        bool more = issue_more();
        if (!_pending.empty()) {
            return true;
        }
        if (!more) {
            return false;
        }
        if (!_client.can_send(_o.rw == rw_mode::create ? 0 : _o.block_size)) {
            throw smb_error("the server granted too few credits for --bs");
        }
    }
}

bool connection_load::on_response() {
    complete(_client.receive(), true);
    return pump();
}

void connection_load::complete(const response& r, bool timed) {
    auto it = _pending.find(r.message_id);
    if (it == _pending.end()) {
        throw smb_error("a response with an unknown MessageId " + std::to_string(r.message_id));
    }
    inflight f = it->second;
    _pending.erase(it);
    switch (f.kind) {
    case request_kind::flush:
        ++(r.status == status::success ? _flushes : _errors);
        return;
    case request_kind::create:
        if (r.status != status::success) {
            ++_errors;
            return;
        }
        // The op goes on: its CLOSE, timed from the CREATE (the credits the CREATE's
        // response granted pay for it).
        _pending[_client.send_close(r.fid)] = {f.offset, request_kind::close, f.start};
        return;
    case request_kind::close:
        if (timed) {
            _lat.record(ns_since(f.start));
        }
        if (r.status != status::success) {
            ++_errors;
        } else if (timed) {
            ++_ops;
            _st.live.ops.fetch_add(1, std::memory_order_relaxed);
        }
        return;
    case request_kind::read:
    case request_kind::write:
        break;
    }
    bool is_write = f.kind == request_kind::write;
    if (timed) {
        _lat.record(ns_since(f.start));
    }
    if (r.status != status::success || (is_write ? r.count : r.data.size()) != _o.block_size) {
        ++_errors;
        return;
    }
    if (timed) {
        ++_ops;
        ++(is_write ? _write_ops : _read_ops);
        _bytes += _o.block_size;
        _st.live.ops.fetch_add(1, std::memory_order_relaxed);
        _st.live.bytes.fetch_add(_o.block_size, std::memory_order_relaxed);
    }
    if (!is_write && _o.verify) {
        _verified += r.data.size();
        if (auto bad = find_mismatch(r.data, f.offset, _o.seed)) {
            ++_mismatches;
            std::lock_guard lk(_st.mu);
            if (_st.result.mismatch_notes.size() < 10) {
                _st.result.mismatch_notes.push_back(
                    "mismatch at offset " + std::to_string(*bad) + " of " + _o.file_prefix + "." +
                    std::to_string(_index) + ".dat (block at " + std::to_string(f.offset) + ")");
            }
        }
    }
}

void connection_load::finish() {
    if (_o.verify) {
        read_back();
    }
    if (_opened) {
        _client.close(_fid);
        _opened = false;
    }
}

// Reads back every block this connection wrote and checks it (--verify).
void connection_load::read_back() {
    uint64_t b = 0, blocks = _written.size();
    for (;;) {
        while (b < blocks && _pending.size() < _o.iodepth && _client.can_send(_o.block_size)) {
            if (_written[b]) {
                uint64_t off = b * _o.block_size;
                _pending[_client.send_read(_fid, off, _o.block_size)] = {off, request_kind::read,
                                                                         clock_type::now()};
            }
            ++b;
        }
        if (_pending.empty()) {
            if (b >= blocks) {
                break;
            }
            continue;
        }
        complete(_client.receive(), false);
    }
}

void connection_load::merge_into_result() {
    std::lock_guard lk(_st.mu);
    auto& s = _st.result.summary;
    s.latency.merge(_lat);
    s.ops += _ops;
    s.read_ops += _read_ops;
    s.write_ops += _write_ops;
    s.bytes += _bytes;
    s.errors += _errors;
    s.mismatches += _mismatches;
    s.verified_bytes += _verified;
    s.flushes += _flushes;
    s.rdma_ios += _client.rdma_ios();
}

} // namespace smbx::bench
