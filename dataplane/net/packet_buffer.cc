#include "dataplane/net/packet_buffer.hh"

#include <cstring>

namespace smbx::net {

packet_buffer& packet_buffer::operator=(packet_buffer&& o) noexcept {
    if (this != &o) {
        reset();
        _data = o._data;
        _size = o._size;
        _release = o._release;
        _context = o._context;
        _outstanding = o._outstanding;
        o._data = nullptr;
        o._size = 0;
        o._release = nullptr;
        o._context = nullptr;
        o._outstanding = nullptr;
    }
    return *this;
}

void packet_buffer::narrow(size_t offset, size_t length) {
    if (offset > _size) {
        offset = _size;
    }
    if (length > _size - offset) {
        length = _size - offset;
    }
    _data += offset;
    _size = length;
}

void packet_buffer::track(uint64_t* outstanding) {
    if (_outstanding) {
        --*_outstanding;
    }
    _outstanding = outstanding;
    if (_outstanding) {
        ++*_outstanding;
    }
}

void packet_buffer::reset() {
    if (_release) {
        _release(_context);
    }
    if (_outstanding) {
        --*_outstanding;
    }
    _data = nullptr;
    _size = 0;
    _release = nullptr;
    _context = nullptr;
    _outstanding = nullptr;
}

packet_buffer make_heap_packet(std::span<const uint8_t> data) {
    auto* copy = new std::vector<uint8_t>(data.begin(), data.end());
    return packet_buffer(
        copy->data(), copy->size(), [](void* c) { delete static_cast<std::vector<uint8_t>*>(c); },
        copy);
}

tx_block::~tx_block() {
    if (_outstanding) {
        --*_outstanding;
    }
}

void tx_block::track(uint64_t* outstanding) {
    _outstanding = outstanding;
    ++*_outstanding;
}

namespace {

struct vector_block final : tx_block {
    explicit vector_block(std::vector<uint8_t>&& v)
        : tx_block(v.data(), v.size()), bytes(std::move(v)) {}
    std::vector<uint8_t> bytes; // moving a vector keeps its data pointer
};

struct received_block final : tx_block {
    explicit received_block(packet_buffer&& p)
        : tx_block(p.data(), p.size()), frame(std::move(p)) {}
    packet_buffer frame;
};

struct callback_block final : tx_block {
    callback_block(const uint8_t* d, size_t n, std::function<void()>&& f)
        : tx_block(d, n), on_done(std::move(f)) {}
    ~callback_block() override {
        if (on_done) {
            on_done();
        }
    }
    std::function<void()> on_done;
};

} // namespace

tx_block* make_tx_block(std::vector<uint8_t> data) {
    return new vector_block(std::move(data));
}
tx_block* make_tx_block(packet_buffer received) {
    return new received_block(std::move(received));
}
tx_block* make_tx_block(const uint8_t* data, size_t size, std::function<void()> on_done) {
    return new callback_block(data, size, std::move(on_done));
}

size_t tx_frame::payload_size() const {
    size_t n = 0;
    for (size_t i = 0; i < fragment_count; ++i) {
        n += payload[i].size;
    }
    return n;
}

void tx_frame::copy_to(std::vector<uint8_t>& out) const {
    out.insert(out.end(), header.begin(), header.begin() + header_size);
    for (size_t i = 0; i < fragment_count; ++i) {
        size_t at = out.size();
        out.resize(at + payload[i].size);
        if (payload[i].size) {
            std::memcpy(out.data() + at, payload[i].data, payload[i].size);
        }
    }
}

} // namespace smbx::net
