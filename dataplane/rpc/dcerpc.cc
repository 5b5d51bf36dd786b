#include "dataplane/rpc/dcerpc.hh"

#include <algorithm>
#include <atomic>

#include "common/log.hh"

namespace smbx::dcerpc {

namespace {

// 6cb71c2c-9812-4540: the fixed part of the bind time feature syntax (MS-RPCE 2.2.2.14).
constexpr uuid feature_prefix =
    uuid::from_fields(0x6cb71c2c, 0x9812, 0x4540, {0, 0, 0, 0, 0, 0, 0, 0});

void put_syntax(byte_writer& w, const syntax_id& s) {
    w.put(s.id.b.data(), s.id.b.size());
    w.u16(s.major);
    w.u16(s.minor);
}

syntax_id get_syntax(byte_reader& r) {
    syntax_id s;
    r.copy_to(s.id.b.data(), s.id.b.size());
    s.major = r.u16();
    s.minor = r.u16();
    return s;
}

// Common header with frag_length left to finish().
byte_writer start_pdu(ptype type, uint8_t flags, uint32_t call_id) {
    byte_writer w;
    w.u8(5); // rpc_vers
    w.u8(0); // rpc_vers_minor
    w.u8(static_cast<uint8_t>(type));
    w.u8(flags);
    w.u32(0x00000010); // drep: little-endian, ASCII, IEEE
    w.u16(0);          // frag_length, patched
    w.u16(0);          // auth_length
    w.u32(call_id);
    return w;
}

bytes finish(byte_writer& w) {
    w.patch_u16(8, static_cast<uint16_t>(w.size()));
    return w.take();
}

header read_header(byte_reader& r) {
    header h;
    h.rpc_vers = r.u8();
    h.rpc_vers_minor = r.u8();
    h.type = static_cast<ptype>(r.u8());
    h.pfc_flags = r.u8();
    r.copy_to(h.drep.data(), 4);
    h.frag_length = r.u16();
    h.auth_length = r.u16();
    h.call_id = r.u32();
    return h;
}

uint32_t next_assoc_group_id() {
    static std::atomic<uint32_t> next{0x53f0};
    uint32_t id = next.fetch_add(1, std::memory_order_relaxed);
    return id == 0 ? next.fetch_add(1, std::memory_order_relaxed) : id;
}

uint32_t byteswap32(uint32_t v) {
    return (v >> 24) | ((v >> 8) & 0xFF00) | ((v << 8) & 0xFF0000) | (v << 24);
}

} // namespace

std::optional<uint64_t> bind_time_features(const syntax_id& s) {
    if (!std::equal(s.id.b.begin(), s.id.b.begin() + 8, feature_prefix.b.begin()) || s.major != 1 ||
        s.minor != 0) {
        return std::nullopt;
    }
    uint64_t f = 0;
    for (int i = 0; i < 8; ++i) {
        f |= uint64_t(s.id.b[8 + i]) << (8 * i);
    }
    return f;
}

syntax_id bind_time_feature_syntax(uint64_t features) {
    syntax_id s{feature_prefix, 1, 0};
    for (int i = 0; i < 8; ++i) {
        s.id.b[8 + i] = uint8_t(features >> (8 * i));
    }
    return s;
}

std::optional<header> parse_header(byte_span pdu) {
    if (pdu.size() < header_size) {
        return std::nullopt;
    }
    byte_reader r(pdu);
    return read_header(r);
}

std::optional<bind_pdu> parse_bind(byte_span pdu) {
    byte_reader r(pdu);
    bind_pdu b;
    b.hdr = read_header(r);
    b.max_xmit_frag = r.u16();
    b.max_recv_frag = r.u16();
    b.assoc_group_id = r.u32();
    uint8_t n_contexts = r.u8();
    r.skip(3);
    for (unsigned i = 0; i < n_contexts && r.ok(); ++i) {
        context_elem c;
        c.context_id = r.u16();
        uint8_t n_transfers = r.u8();
        r.skip(1);
        c.abstract = get_syntax(r);
        for (unsigned t = 0; t < n_transfers && r.ok(); ++t) {
            c.transfers.push_back(get_syntax(r));
        }
        b.contexts.push_back(std::move(c));
    }
    if (!r.ok()) {
        return std::nullopt;
    }
    return b;
}

bytes build_bind(const bind_pdu& b) {
    auto w = start_pdu(b.hdr.type, b.hdr.pfc_flags, b.hdr.call_id);
    w.u16(b.max_xmit_frag);
    w.u16(b.max_recv_frag);
    w.u32(b.assoc_group_id);
    w.u8(static_cast<uint8_t>(b.contexts.size()));
    w.zeros(3);
    for (const auto& c : b.contexts) {
        w.u16(c.context_id);
        w.u8(static_cast<uint8_t>(c.transfers.size()));
        w.u8(0);
        put_syntax(w, c.abstract);
        for (const auto& t : c.transfers) {
            put_syntax(w, t);
        }
    }
    return finish(w);
}

bytes build_bind_ack(const bind_ack_pdu& a) {
    auto w = start_pdu(a.hdr.type, pfc::first_frag | pfc::last_frag, a.hdr.call_id);
    w.u16(a.max_xmit_frag);
    w.u16(a.max_recv_frag);
    w.u32(a.assoc_group_id);
    // port_any_t: length including the NUL, or 0 for none (C706 12.6.3.1).
    if (a.sec_addr.empty()) {
        w.u16(0);
    } else {
        w.u16(static_cast<uint16_t>(a.sec_addr.size() + 1));
        w.put(a.sec_addr.data(), a.sec_addr.size());
        w.u8(0);
    }
    w.align(4);
    w.u8(static_cast<uint8_t>(a.results.size()));
    w.zeros(3);
    for (const auto& res : a.results) {
        w.u16(res.result);
        w.u16(res.reason);
        put_syntax(w, res.transfer);
    }
    return finish(w);
}

std::optional<bind_ack_pdu> parse_bind_ack(byte_span pdu) {
    byte_reader r(pdu);
    bind_ack_pdu a;
    a.hdr = read_header(r);
    a.max_xmit_frag = r.u16();
    a.max_recv_frag = r.u16();
    a.assoc_group_id = r.u32();
    uint16_t len = r.u16();
    auto addr = r.take(len);
    if (!addr.empty()) {
        a.sec_addr.assign(addr.begin(), addr.end() - (addr.back() == 0 ? 1 : 0));
    }
    r.seek((r.position() + 3) & ~size_t(3));
    uint8_t n = r.u8();
    r.skip(3);
    for (unsigned i = 0; i < n && r.ok(); ++i) {
        context_result res;
        res.result = r.u16();
        res.reason = r.u16();
        res.transfer = get_syntax(r);
        a.results.push_back(res);
    }
    if (!r.ok()) {
        return std::nullopt;
    }
    return a;
}

bytes build_bind_nak(uint32_t call_id, uint16_t reason) {
    auto w = start_pdu(ptype::bind_nak, pfc::first_frag | pfc::last_frag, call_id);
    w.u16(reason);
    w.u8(1); // n_protocols
    w.u8(5); // rpc_vers
    w.u8(0); // rpc_vers_minor
    w.align(4);
    return finish(w);
}

std::optional<request_pdu> parse_request(byte_span pdu) {
    byte_reader r(pdu);
    request_pdu q;
    q.hdr = read_header(r);
    q.alloc_hint = r.u32();
    q.context_id = r.u16();
    q.opnum = r.u16();
    if (q.hdr.pfc_flags & pfc::object_uuid) {
        uuid u;
        r.copy_to(u.b.data(), u.b.size());
        q.object = u;
    }
    // The auth verifier, if any, is the last auth_length bytes plus its 8-byte header.
    size_t trailer = q.hdr.auth_length ? size_t(q.hdr.auth_length) + 8 : 0;
    size_t end = std::min<size_t>(q.hdr.frag_length, pdu.size());
    if (!r.ok() || end < r.position() + trailer) {
        return std::nullopt;
    }
    q.stub = pdu.subspan(r.position(), end - trailer - r.position());
    return q;
}

bytes build_request(uint32_t call_id, uint8_t pfc_flags, uint16_t context_id, uint16_t opnum,
                    byte_span stub, uint32_t alloc_hint) {
    auto w = start_pdu(ptype::request, pfc_flags, call_id);
    w.u32(alloc_hint);
    w.u16(context_id);
    w.u16(opnum);
    w.put(stub);
    return finish(w);
}

std::optional<response_pdu> parse_response(byte_span pdu) {
    byte_reader r(pdu);
    response_pdu p;
    p.hdr = read_header(r);
    p.alloc_hint = r.u32();
    p.context_id = r.u16();
    p.cancel_count = r.u8();
    r.skip(1);
    size_t end = std::min<size_t>(p.hdr.frag_length, pdu.size());
    if (!r.ok() || p.hdr.type != ptype::response || end < r.position()) {
        return std::nullopt;
    }
    p.stub = pdu.subspan(r.position(), end - r.position());
    return p;
}

std::vector<bytes> build_response(uint32_t call_id, uint16_t context_id, byte_span stub,
                                  uint16_t max_frag) {
    // Stub bytes per fragment, a multiple of 8 so each fragment keeps NDR alignment.
    size_t chunk = ((std::max<size_t>(max_frag, min_frag_size) - response_header_size) / 8) * 8;
    std::vector<bytes> frags;
    size_t off = 0;
    do {
        size_t n = std::min(chunk, stub.size() - off);
        uint8_t flags = 0;
        if (off == 0) {
            flags |= pfc::first_frag;
        }
        if (off + n == stub.size()) {
            flags |= pfc::last_frag;
        }
        auto w = start_pdu(ptype::response, flags, call_id);
        w.u32(static_cast<uint32_t>(stub.size() - off)); // alloc_hint: what remains
        w.u16(context_id);
        w.u8(0); // cancel_count
        w.u8(0);
        w.put(stub.subspan(off, n));
        frags.push_back(finish(w));
        off += n;
    } while (off < stub.size());
    return frags;
}

std::optional<fault_pdu> parse_fault(byte_span pdu) {
    byte_reader r(pdu);
    fault_pdu f;
    f.hdr = read_header(r);
    r.u32(); // alloc_hint
    f.context_id = r.u16();
    r.skip(2); // cancel_count, reserved
    f.status = r.u32();
    if (!r.ok() || f.hdr.type != ptype::fault) {
        return std::nullopt;
    }
    return f;
}

bytes build_fault(uint32_t call_id, uint16_t context_id, uint32_t status, bool did_not_execute) {
    uint8_t flags = pfc::first_frag | pfc::last_frag;
    if (did_not_execute) {
        flags |= pfc::did_not_execute;
    }
    auto w = start_pdu(ptype::fault, flags, call_id);
    w.u32(0); // alloc_hint
    w.u16(context_id);
    w.u8(0); // cancel_count
    w.u8(0); // reserved (MS-RPCE: no extended error information)
    w.u32(status);
    w.u32(0); // reserved, pads the body to 8 bytes
    return finish(w);
}

connection::connection(std::unique_ptr<rpc_interface> iface) : _iface(std::move(iface)) {}

void connection::handle_pdu(byte_span pdu, std::vector<bytes>& out) {
    if (_broken) {
        return;
    }
    auto hdr = parse_header(pdu);
    if (!hdr || !hdr->little_endian() || hdr->frag_length != pdu.size()) {
        reject_unframeable(hdr.value_or(header{}), out);
        return;
    }
    // C706 12.6.4.3: a bind in a version we do not speak gets a bind_nak naming ours.
    if (hdr->rpc_vers != 5 || hdr->rpc_vers_minor > 1) {
        if (hdr->type == ptype::bind) {
            out.push_back(build_bind_nak(hdr->call_id, nak_reason::protocol_version_not_supported));
        }
        _broken = true;
        return;
    }
    // Without PFC_CONC_MPX, the fragments of one request are not interleaved with
    // other PDUs (C706 12.6.3.5); cancels and orphans may refer to it.
    if (_pending && hdr->type != ptype::request && hdr->type != ptype::co_cancel &&
        hdr->type != ptype::orphaned) {
        fail(hdr->call_id, fault::proto_error, out);
        return;
    }
    switch (hdr->type) {
    case ptype::bind:
        handle_bind(pdu, *hdr, out);
        break;
    case ptype::alter_context:
        handle_alter_context(pdu, *hdr, out);
        break;
    case ptype::request:
        handle_request(pdu, *hdr, out);
        break;
    case ptype::co_cancel:
    case ptype::orphaned:
        // MS-RPCE 3.3.1.5.6 / 3.3.1.5.7: no reply; an orphaned call is dropped.
        if (_pending && _pending->call_id == hdr->call_id && hdr->type == ptype::orphaned) {
            _pending.reset();
        }
        break;
    default:
        // auth3 without an auth context, or a PDU only a server sends.
        fail(hdr->call_id, fault::proto_error, out);
        break;
    }
}

void connection::reject_unframeable(const header& hdr, std::vector<bytes>& out) {
    uint32_t call_id = hdr.little_endian() ? hdr.call_id : byteswap32(hdr.call_id);
    if (hdr.type == ptype::bind) {
        out.push_back(build_bind_nak(call_id, nak_reason::not_specified));
    }
    _broken = true;
    _pending.reset();
}

void connection::fail(uint32_t call_id, uint32_t status, std::vector<bytes>& out) {
    out.push_back(build_fault(call_id, 0, status, false));
    _broken = true;
    _pending.reset();
}

bool connection::negotiate(const bind_pdu& b, std::vector<context_result>& results) {
    const syntax_id ours = _iface->abstract_syntax();
    std::vector<uint16_t> accepted;
    bool saw_features = false;
    results.clear();
    for (const auto& c : b.contexts) {
        if (c.transfers.empty()) {
            return false;
        }
        context_result res;
        // MS-RPCE 3.3.1.5.3: a context whose first transfer syntax is the bind time
        // feature syntax is a negotiation, answered with negotiate_ack and the features
        // we support in the reason field. We never drop a connection on orphan, so we
        // can keep that promise; we have no security contexts to multiplex.
        if (auto features = bind_time_features(c.transfers[0])) {
            if (saw_features) {
                return false;
            }
            saw_features = true;
            res.result = ctx_result::negotiate_ack;
            res.reason =
                static_cast<uint16_t>(*features) & bind_time_feature::keep_connection_on_orphan;
            results.push_back(res);
            continue;
        }
        // C706 12.6.4.3: major versions equal, client minor not above ours.
        if (c.abstract.id != ours.id || c.abstract.major != ours.major ||
            c.abstract.minor > ours.minor) {
            res.result = ctx_result::provider_rejection;
            res.reason = ctx_reason::abstract_syntax_not_supported;
            results.push_back(res);
            continue;
        }
        if (std::find(c.transfers.begin(), c.transfers.end(), ndr20_syntax) == c.transfers.end()) {
            // NDR64 (and anything else) is not implemented.
            res.result = ctx_result::provider_rejection;
            res.reason = ctx_reason::proposed_transfer_syntaxes_not_supported;
            results.push_back(res);
            continue;
        }
        res.result = ctx_result::acceptance;
        res.reason = ctx_reason::not_specified;
        res.transfer = ndr20_syntax;
        results.push_back(res);
        accepted.push_back(c.context_id);
    }
    for (uint16_t id : accepted) {
        if (std::find(_contexts.begin(), _contexts.end(), id) == _contexts.end()) {
            _contexts.push_back(id);
        }
    }
    return true;
}

void connection::handle_bind(byte_span pdu, const header& hdr, std::vector<bytes>& out) {
    // One association per pipe: a second bind is refused, the first one stays.
    if (_bound || !hdr.supported_drep()) {
        out.push_back(build_bind_nak(hdr.call_id, nak_reason::not_specified));
        return;
    }
    // We offer no security providers (MS-RPCE 3.3.1.5.2): the client may retry
    // without authentication, as smbclient's noauth pipes do anyway.
    if (hdr.auth_length != 0) {
        out.push_back(build_bind_nak(hdr.call_id, nak_reason::authentication_type_not_recognized));
        return;
    }
    auto b = parse_bind(pdu);
    std::vector<context_result> results;
    if (!b || b->contexts.empty() || !negotiate(*b, results)) {
        out.push_back(build_bind_nak(hdr.call_id, nak_reason::not_specified));
        return;
    }
    // C706 12.6.3.1: never send more than the client receives; MS-RPCE 3.3.1.5.2 has
    // both directions end up at the same size, a multiple of 8.
    uint16_t want = std::min(b->max_xmit_frag, b->max_recv_frag);
    uint16_t frag = std::clamp(want, min_frag_size, max_frag_size) & 0xFFF8;
    _max_xmit_frag = frag;
    _max_recv_frag = frag;
    _assoc_group_id = b->assoc_group_id != 0 ? b->assoc_group_id : next_assoc_group_id();
    _bound = true;

    bind_ack_pdu ack;
    ack.hdr.type = ptype::bind_ack;
    ack.hdr.call_id = hdr.call_id;
    ack.max_xmit_frag = _max_xmit_frag;
    ack.max_recv_frag = _max_recv_frag;
    ack.assoc_group_id = _assoc_group_id;
    ack.sec_addr = std::string(_iface->secondary_address());
    ack.results = std::move(results);
    out.push_back(build_bind_ack(ack));
}

void connection::handle_alter_context(byte_span pdu, const header& hdr, std::vector<bytes>& out) {
    // There is no alter_context nak: refusals are faults (C706 12.6.4.1).
    if (!_bound || !hdr.supported_drep() || hdr.auth_length != 0) {
        fail(hdr.call_id, fault::proto_error, out);
        return;
    }
    auto b = parse_bind(pdu);
    std::vector<context_result> results;
    if (!b || b->contexts.empty() || !negotiate(*b, results)) {
        fail(hdr.call_id, fault::proto_error, out);
        return;
    }
    bind_ack_pdu ack;
    ack.hdr.type = ptype::alter_context_resp;
    ack.hdr.call_id = hdr.call_id;
    ack.max_xmit_frag = _max_xmit_frag;
    ack.max_recv_frag = _max_recv_frag;
    ack.assoc_group_id = _assoc_group_id;
    ack.results = std::move(results);
    out.push_back(build_bind_ack(ack));
}

void connection::handle_request(byte_span pdu, const header& hdr, std::vector<bytes>& out) {
    if (!_bound || !hdr.supported_drep()) {
        fail(hdr.call_id, fault::proto_error, out);
        return;
    }
    // No security context was ever established, so a verifier cannot be checked.
    if (hdr.auth_length != 0) {
        fail(hdr.call_id, fault::access_denied, out);
        return;
    }
    auto q = parse_request(pdu);
    if (!q) {
        fail(hdr.call_id, fault::proto_error, out);
        return;
    }
    bool first = hdr.pfc_flags & pfc::first_frag;
    bool last = hdr.pfc_flags & pfc::last_frag;
    if (first) {
        if (_pending) {
            fail(hdr.call_id, fault::proto_error, out);
            return;
        }
        if (last) {
            execute(hdr.call_id, q->context_id, q->opnum, q->stub, out);
            return;
        }
        if (q->alloc_hint > max_request_size) {
            fail(hdr.call_id, fault::proto_error, out);
            return;
        }
        _pending = pending_request{hdr.call_id, q->context_id, q->opnum, {}};
        _pending->stub.assign(q->stub.begin(), q->stub.end());
        return;
    }
    // C706 12.6.3.5: later fragments carry the call id of the first.
    if (!_pending || _pending->call_id != hdr.call_id) {
        fail(hdr.call_id, fault::proto_error, out);
        return;
    }
    if (_pending->stub.size() + q->stub.size() > max_request_size) {
        LOG_WARN("dcerpc: fragmented request over %zu bytes, disconnecting", max_request_size);
        fail(hdr.call_id, fault::proto_error, out);
        return;
    }
    _pending->stub.insert(_pending->stub.end(), q->stub.begin(), q->stub.end());
    if (last) {
        pending_request p = std::move(*_pending);
        _pending.reset();
        execute(p.call_id, p.context_id, p.opnum, p.stub, out);
    }
}

void connection::execute(uint32_t call_id, uint16_t context_id, uint16_t opnum, byte_span stub,
                         std::vector<bytes>& out) {
    if (std::find(_contexts.begin(), _contexts.end(), context_id) == _contexts.end()) {
        out.push_back(build_fault(call_id, context_id, fault::unknown_if, true));
        return;
    }
    call_result res = _iface->call(opnum, stub);
    if (res.fault_status != 0) {
        // Our interfaces fault only before doing anything (bad opnum, bad stub).
        out.push_back(build_fault(call_id, context_id, res.fault_status, true));
        return;
    }
    for (auto& frag : build_response(call_id, context_id, res.stub, _max_xmit_frag)) {
        out.push_back(std::move(frag));
    }
}

} // namespace smbx::dcerpc
