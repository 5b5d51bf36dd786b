#include "dataplane/net/impaired_nic.hh"

namespace smbx::net {

namespace {

void drop_blocks(const tx_frame& f) {
    for (size_t i = 0; i < f.fragment_count; ++i) {
        f.payload[i].block->drop();
    }
}

} // namespace

fate_picker::fate_picker(const impairment& config, uint64_t stream)
    : _config(config), _state(config.seed ^ (stream * 0x9e3779b97f4a7c15ULL)) {}

// splitmix64: small, fast and well mixed; statistical quality is all a test mode needs.
uint64_t fate_picker::next_random() {
    uint64_t z = (_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

frame_fate fate_picker::next() {
    double u = double(next_random() >> 11) * 0x1.0p-53; // uniform in [0, 1)
    if (u < _config.drop) {
        return frame_fate::drop;
    }
    u -= _config.drop;
    if (u < _config.duplicate) {
        return frame_fate::duplicate;
    }
    u -= _config.duplicate;
    return u < _config.reorder ? frame_fate::hold : frame_fate::pass;
}

impaired_nic::impaired_nic(nic& inner, const impairment& config)
    : _inner(inner), _config(config), _tx_fate(config, 1), _rx_fate(config, 2) {}

impaired_nic::~impaired_nic() {
    discard();
}

size_t impaired_nic::send_burst(std::span<const tx_frame> frames) {
    _out.clear();
    // Held frames put back into _out: their references go once the inner NIC is done.
    std::vector<tx_frame> released;
    for (const tx_frame& f : frames) {
        switch (_tx_fate.next()) {
        case frame_fate::drop:
            ++_counters.tx_dropped;
            continue;
        case frame_fate::duplicate:
            ++_counters.tx_duplicated;
            _out.push_back(f);
            break;
        case frame_fate::hold:
            if (!_held_tx) {
                ++_counters.tx_reordered;
                _held_tx = f;
                for (size_t i = 0; i < f.fragment_count; ++i) {
                    f.payload[i].block->hold(); // the stack drops its own after this call
                }
                _held_tx_since = _now;
                continue;
            }
            break;
        case frame_fate::pass:
            break;
        }
        _out.push_back(f);
        if (_held_tx) {
            // Held before this frame: it leaves after it.
            _out.push_back(*_held_tx);
            released.push_back(*_held_tx);
            _held_tx.reset();
        }
    }
    if (!_out.empty()) {
        _inner.send_burst(_out);
    }
    for (const tx_frame& f : released) {
        drop_blocks(f);
    }
    return frames.size();
}

void impaired_nic::receive(packet_buffer frame, time_us now) {
    _now = now;
    switch (_rx_fate.next()) {
    case frame_fate::drop:
        ++_counters.rx_dropped;
        return;
    case frame_fate::duplicate:
        ++_counters.rx_duplicated;
        _receiver->receive(make_heap_packet(frame.bytes()), now);
        break;
    case frame_fate::hold:
        if (!_holding_rx) {
            ++_counters.rx_reordered;
            _held_rx = std::move(frame);
            _holding_rx = true;
            _held_rx_since = now;
            return;
        }
        break;
    case frame_fate::pass:
        break;
    }
    _receiver->receive(std::move(frame), now);
    if (_holding_rx) {
        _holding_rx = false;
        _receiver->receive(std::move(_held_rx), now);
    }
}

void impaired_nic::flush(time_us now) {
    _now = now;
    if (_held_tx && now - _held_tx_since >= max_hold) {
        _inner.send_burst({&*_held_tx, 1});
        release_held_tx();
    }
    if (_holding_rx && now - _held_rx_since >= max_hold) {
        _holding_rx = false;
        _receiver->receive(std::move(_held_rx), now);
    }
}

void impaired_nic::release_held_tx() {
    if (_held_tx) {
        drop_blocks(*_held_tx);
        _held_tx.reset();
    }
}

void impaired_nic::discard() {
    release_held_tx();
    _held_rx.reset();
    _holding_rx = false;
}

} // namespace smbx::net
