#include "common/ipc_messages.hh"

#include <algorithm>
#include <iterator>

namespace smbx::ipc {

namespace {

constexpr size_t header_size = 16;

byte_writer begin(msg_type t, uint64_t id) {
    byte_writer w;
    w.u16(static_cast<uint16_t>(t));
    w.u16(0);
    w.u32(0);
    w.u64(id);
    return w;
}

void put_str(byte_writer& w, const std::string& s) {
    w.u32(static_cast<uint32_t>(s.size()));
    w.put(s.data(), s.size());
}
void put_blob(byte_writer& w, const bytes& b) {
    w.u32(static_cast<uint32_t>(b.size()));
    w.put(b);
}
std::string get_str(byte_reader& r) {
    auto s = r.take(r.u32());
    return std::string(s.begin(), s.end());
}
bytes get_blob(byte_reader& r) {
    auto s = r.take(r.u32());
    return bytes(s.begin(), s.end());
}

// Reader over the body if the header says `t`.
std::optional<byte_reader> body_of(byte_span m, msg_type t) {
    auto h = decode_header(m);
    if (!h || h->type != t) {
        return std::nullopt;
    }
    return byte_reader(m.subspan(header_size));
}

template <typename T> std::optional<T> finish(byte_reader& r, T&& v) {
    if (!r.ok() || r.remaining() != 0) {
        return std::nullopt;
    }
    return std::move(v);
}

void put_share(byte_writer& w, const share_info& s) {
    put_str(w, s.name);
    put_str(w, s.path);
    put_str(w, s.comment);
    w.u32(static_cast<uint32_t>(s.type));
    w.u8(s.read_only);
    w.u8(s.browseable);
    w.u8(s.encrypt_required);
    w.u8(s.direct_io);
    w.u8(s.oplocks);
    w.u8(s.level2_oplocks);
}
share_info get_share(byte_reader& r) {
    share_info s;
    s.name = get_str(r);
    s.path = get_str(r);
    s.comment = get_str(r);
    s.type = static_cast<share_type>(r.u32());
    s.read_only = r.u8();
    s.browseable = r.u8();
    s.encrypt_required = r.u8();
    s.direct_io = r.u8();
    s.oplocks = r.u8();
    s.level2_oplocks = r.u8();
    return s;
}

} // namespace

std::optional<header> decode_header(byte_span m) {
    byte_reader r(m);
    header h;
    h.type = static_cast<msg_type>(r.u16());
    r.skip(6);
    h.id = r.u64();
    if (!r.ok()) {
        return std::nullopt;
    }
    return h;
}

bytes encode(uint64_t id, const auth_request& m) {
    auto w = begin(msg_type::auth_request, id);
    w.u64(m.auth_id);
    put_str(w, m.client_address);
    put_blob(w, m.blob);
    return w.take();
}
std::optional<auth_request> decode_auth_request(byte_span m) {
    auto r = body_of(m, msg_type::auth_request);
    if (!r) {
        return std::nullopt;
    }
    auth_request v;
    v.auth_id = r->u64();
    v.client_address = get_str(*r);
    v.blob = get_blob(*r);
    return finish(*r, std::move(v));
}

bytes encode(uint64_t id, const auth_reply& m) {
    auto w = begin(msg_type::auth_reply, id);
    w.u32(m.status);
    w.u64(m.auth_id);
    put_blob(w, m.blob);
    put_blob(w, m.session_key);
    put_str(w, m.user);
    put_str(w, m.domain);
    w.u8(m.guest);
    w.u8(m.anonymous);
    return w.take();
}
std::optional<auth_reply> decode_auth_reply(byte_span m) {
    auto r = body_of(m, msg_type::auth_reply);
    if (!r) {
        return std::nullopt;
    }
    auth_reply v;
    v.status = r->u32();
    v.auth_id = r->u64();
    v.blob = get_blob(*r);
    v.session_key = get_blob(*r);
    v.user = get_str(*r);
    v.domain = get_str(*r);
    v.guest = r->u8();
    v.anonymous = r->u8();
    return finish(*r, std::move(v));
}

bytes encode(uint64_t id, const auth_abandon& m) {
    auto w = begin(msg_type::auth_abandon, id);
    w.u64(m.auth_id);
    return w.take();
}
std::optional<auth_abandon> decode_auth_abandon(byte_span m) {
    auto r = body_of(m, msg_type::auth_abandon);
    if (!r) {
        return std::nullopt;
    }
    auth_abandon v;
    v.auth_id = r->u64();
    return finish(*r, std::move(v));
}

bytes encode(uint64_t id, const tree_connect_request& m) {
    auto w = begin(msg_type::tree_connect_request, id);
    put_str(w, m.user);
    w.u8(m.guest);
    w.u8(m.anonymous);
    put_str(w, m.share);
    return w.take();
}
std::optional<tree_connect_request> decode_tree_connect_request(byte_span m) {
    auto r = body_of(m, msg_type::tree_connect_request);
    if (!r) {
        return std::nullopt;
    }
    tree_connect_request v;
    v.user = get_str(*r);
    v.guest = r->u8();
    v.anonymous = r->u8();
    v.share = get_str(*r);
    return finish(*r, std::move(v));
}

bytes encode(uint64_t id, const tree_connect_reply& m) {
    auto w = begin(msg_type::tree_connect_reply, id);
    w.u32(m.status);
    put_share(w, m.share);
    return w.take();
}
std::optional<tree_connect_reply> decode_tree_connect_reply(byte_span m) {
    auto r = body_of(m, msg_type::tree_connect_reply);
    if (!r) {
        return std::nullopt;
    }
    tree_connect_reply v;
    v.status = r->u32();
    v.share = get_share(*r);
    return finish(*r, std::move(v));
}

bytes encode_share_enum_request(uint64_t id) {
    return begin(msg_type::share_enum_request, id).take();
}

bytes encode(uint64_t id, const share_enum_reply& m) {
    auto w = begin(msg_type::share_enum_reply, id);
    w.u32(static_cast<uint32_t>(m.shares.size()));
    for (auto& s : m.shares) {
        put_share(w, s);
    }
    return w.take();
}
std::optional<share_enum_reply> decode_share_enum_reply(byte_span m) {
    auto r = body_of(m, msg_type::share_enum_reply);
    if (!r) {
        return std::nullopt;
    }
    share_enum_reply v;
    uint32_t n = r->u32();
    for (uint32_t i = 0; i < n && r->ok(); ++i) {
        v.shares.push_back(get_share(*r));
    }
    return finish(*r, std::move(v));
}

bytes encode_status_request(uint64_t id) {
    return begin(msg_type::status_request, id).take();
}

namespace {

void put_session(byte_writer& w, const session_status& s) {
    w.u64(s.session_id);
    put_str(w, s.user);
    put_str(w, s.client_address);
    w.u16(s.dialect);
    w.u8(s.signing);
    w.u8(s.encryption);
}
void put_open(byte_writer& w, const open_status& o) {
    w.u64(o.session_id);
    put_str(w, o.share);
    put_str(w, o.path);
    put_str(w, o.caching);
}
void put_counter(byte_writer& w, const std::pair<std::string, uint64_t>& c) {
    put_str(w, c.first);
    w.u64(c.second);
}
void put_worker_counter(byte_writer& w, const worker_counter& c) {
    put_str(w, c.name);
    w.u32(c.worker);
    w.u64(c.value);
}

// Encoded sizes, as the put_* functions above write them.
size_t size_of(const session_status& s) {
    return 8 + 4 + s.user.size() + 4 + s.client_address.size() + 4;
}
size_t size_of(const open_status& o) {
    return 8 + 4 + o.share.size() + 4 + o.path.size() + 4 + o.caching.size();
}
size_t size_of(const std::pair<std::string, uint64_t>& c) {
    return 4 + c.first.size() + 8;
}
size_t size_of(const worker_counter& c) {
    return 4 + c.name.size() + 4 + 8;
}

// header, part, more, and the four list lengths
constexpr size_t status_part_overhead = header_size + 4 + 1 + 4 * 4;

// `s` cut to at most `cap` bytes, not inside a UTF-8 sequence.
std::string cut_utf8(const std::string& s, size_t cap) {
    if (s.size() <= cap) {
        return s;
    }
    size_t n = cap;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) {
        --n;
    }
    return s.substr(0, n);
}

} // namespace

bytes encode(uint64_t id, const status_reply& m) {
    auto w = begin(msg_type::status_reply, id);
    w.u32(m.part);
    w.u8(m.more);
    w.u32(static_cast<uint32_t>(m.sessions.size()));
    for (auto& s : m.sessions) {
        put_session(w, s);
    }
    w.u32(static_cast<uint32_t>(m.opens.size()));
    for (auto& o : m.opens) {
        put_open(w, o);
    }
    w.u32(static_cast<uint32_t>(m.counters.size()));
    for (auto& c : m.counters) {
        put_counter(w, c);
    }
    w.u32(static_cast<uint32_t>(m.worker_counters.size()));
    for (auto& c : m.worker_counters) {
        put_worker_counter(w, c);
    }
    return w.take();
}

std::vector<bytes> encode_status_parts(uint64_t id, const status_reply& m, size_t max_size) {
    max_size = std::max(max_size, min_status_part_size);
    // Every entry holds at most two strings: each of them capped at half of what a part
    // leaves after the overhead and an entry's fixed fields (a session's 20 bytes, the
    // most), so any entry fits a part of its own.
    const size_t cap = (max_size - status_part_overhead - 20) / 2;
    std::vector<status_reply> parts(1);
    size_t used = status_part_overhead;
    // Starts a new part when `entry_size` does not fit the current one.
    auto room_for = [&](size_t entry_size) -> status_reply& {
        if (used + entry_size > max_size) {
            parts.emplace_back();
            used = status_part_overhead;
        }
        used += entry_size;
        return parts.back();
    };
    for (const auto& s : m.sessions) {
        session_status c = s;
        c.user = cut_utf8(s.user, cap);
        c.client_address = cut_utf8(s.client_address, cap);
        room_for(size_of(c)).sessions.push_back(std::move(c));
    }
    for (const auto& o : m.opens) {
        open_status c{o.session_id, cut_utf8(o.share, cap), cut_utf8(o.path, cap),
                      cut_utf8(o.caching, cap)};
        room_for(size_of(c)).opens.push_back(std::move(c));
    }
    for (const auto& [name, value] : m.counters) {
        std::pair<std::string, uint64_t> c{cut_utf8(name, cap), value};
        room_for(size_of(c)).counters.push_back(std::move(c));
    }
    for (const auto& wc : m.worker_counters) {
        worker_counter c{cut_utf8(wc.name, cap), wc.worker, wc.value};
        room_for(size_of(c)).worker_counters.push_back(std::move(c));
    }
    std::vector<bytes> out;
    for (size_t i = 0; i < parts.size(); ++i) {
        parts[i].part = static_cast<uint32_t>(i);
        parts[i].more = i + 1 < parts.size();
        out.push_back(encode(id, parts[i]));
    }
    return out;
}

bool append_status_part(status_reply& whole, status_reply&& part) {
    // `whole.part` counts the parts received so far; its `more` is the last one's.
    if (part.part != whole.part) {
        return false;
    }
    whole.part++;
    whole.more = part.more;
    std::move(part.sessions.begin(), part.sessions.end(), std::back_inserter(whole.sessions));
    std::move(part.opens.begin(), part.opens.end(), std::back_inserter(whole.opens));
    std::move(part.counters.begin(), part.counters.end(), std::back_inserter(whole.counters));
    std::move(part.worker_counters.begin(), part.worker_counters.end(),
              std::back_inserter(whole.worker_counters));
    return true;
}

std::optional<status_reply> decode_status_reply(byte_span m) {
    auto r = body_of(m, msg_type::status_reply);
    if (!r) {
        return std::nullopt;
    }
    status_reply v;
    v.part = r->u32();
    v.more = r->u8();
    uint32_t n = r->u32();
    for (uint32_t i = 0; i < n && r->ok(); ++i) {
        session_status s;
        s.session_id = r->u64();
        s.user = get_str(*r);
        s.client_address = get_str(*r);
        s.dialect = r->u16();
        s.signing = r->u8();
        s.encryption = r->u8();
        v.sessions.push_back(std::move(s));
    }
    n = r->u32();
    for (uint32_t i = 0; i < n && r->ok(); ++i) {
        open_status o;
        o.session_id = r->u64();
        o.share = get_str(*r);
        o.path = get_str(*r);
        o.caching = get_str(*r);
        v.opens.push_back(std::move(o));
    }
    n = r->u32();
    for (uint32_t i = 0; i < n && r->ok(); ++i) {
        std::string name = get_str(*r);
        uint64_t value = r->u64();
        v.counters.emplace_back(std::move(name), value);
    }
    n = r->u32();
    for (uint32_t i = 0; i < n && r->ok(); ++i) {
        worker_counter c;
        c.name = get_str(*r);
        c.worker = r->u32();
        c.value = r->u64();
        v.worker_counters.push_back(std::move(c));
    }
    return finish(*r, std::move(v));
}

bytes encode_hello(uint64_t id, uint32_t pid) {
    auto w = begin(msg_type::hello, id);
    w.u32(pid);
    return w.take();
}
std::optional<uint32_t> decode_hello(byte_span m) {
    auto r = body_of(m, msg_type::hello);
    if (!r) {
        return std::nullopt;
    }
    uint32_t pid = r->u32();
    return finish(*r, std::move(pid));
}

} // namespace smbx::ipc
