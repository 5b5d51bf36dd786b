#include "control/leases/lease_service.hh"

namespace smbx::leases {

namespace {

void add_breaks(const std::vector<break_notice>& breaks, std::vector<bytes>& out) {
    for (const auto& b : breaks) {
        ipc::lease_break m;
        m.lease = b.owner.is_lease();
        m.client = b.owner.client;
        m.lease_key = b.owner.lease_key;
        m.via = b.via;
        m.from = b.from;
        m.to = b.to;
        m.ack_required = b.ack_required;
        m.epoch = b.epoch;
        out.push_back(ipc::encode_fields(0, m));
    }
}

void add_released(const std::vector<file_key>& files, std::vector<bytes>& out) {
    for (const auto& f : files) {
        out.push_back(ipc::encode_fields(0, ipc::lease_released{f}));
    }
}

open_request request_of(const ipc::lease_open_request& m) {
    open_request r;
    r.open = m.open;
    r.file = m.file;
    r.directory = m.directory;
    if (m.has_lease) {
        r.lease = owner_key::of_lease(m.client, m.lease_key);
    }
    r.lease_version = m.lease_version;
    r.epoch = m.epoch;
    r.requested = m.requested;
    r.oplock = static_cast<oplock_level>(m.oplock);
    r.overwrite = m.overwrite;
    r.level2_oplocks = m.level2_oplocks;
    r.after_break = m.after_break;
    r.no_wait = m.no_wait;
    return r;
}

} // namespace

bool lease_service::handles(ipc::msg_type t) {
    using ipc::msg_type;
    return t == msg_type::lease_open_request || t == msg_type::lease_ack_request ||
           t == msg_type::lease_close || t == msg_type::lease_write ||
           t == msg_type::lease_handles_request;
}

std::vector<bytes> lease_service::handle(byte_span message, clock::time_point now) {
    std::vector<bytes> out;
    auto h = ipc::decode_header(message);
    if (!h) {
        return out;
    }
    switch (h->type) {
    case ipc::msg_type::lease_open_request: {
        auto m = ipc::decode_fields<ipc::lease_open_request>(message);
        if (!m) {
            break;
        }
        open_decision d = _arbiter.open(request_of(*m), now);
        ipc::lease_open_reply reply;
        reply.status = d.status;
        reply.wait = d.wait;
        reply.granted = d.granted;
        reply.oplock = static_cast<uint8_t>(d.oplock);
        reply.epoch = d.epoch;
        reply.break_in_progress = d.break_in_progress;
        // The breaks first: the data plane sends them before it answers the CREATE.
        add_breaks(d.breaks, out);
        out.push_back(ipc::encode_fields(h->id, reply));
        break;
    }
    case ipc::msg_type::lease_ack_request: {
        auto m = ipc::decode_fields<ipc::lease_ack_request>(message);
        if (!m) {
            break;
        }
        ack_result r =
            m->lease
                ? _arbiter.acknowledge_lease(owner_key::of_lease(m->client, m->lease_key), m->state,
                                             now)
                : _arbiter.acknowledge_oplock(m->open, static_cast<oplock_level>(m->state), now);
        out.push_back(ipc::encode_fields(h->id, ipc::lease_ack_reply{r.status, r.state}));
        add_breaks(r.breaks, out);
        add_released(r.released, out);
        break;
    }
    case ipc::msg_type::lease_handles_request: {
        auto m = ipc::decode_fields<ipc::lease_handles_request>(message);
        if (!m) {
            break;
        }
        // An opener without a lease is nobody's owner yet: no open has id 0.
        owner_key self =
            m->has_lease ? owner_key::of_lease(m->client, m->lease_key) : owner_key::of_open(0);
        std::vector<break_notice> breaks;
        bool wait = _arbiter.break_handle_caching(self, m->file, now, breaks);
        add_breaks(breaks, out);
        out.push_back(ipc::encode_fields(h->id, ipc::lease_handles_reply{wait}));
        break;
    }
    case ipc::msg_type::lease_close:
        if (auto m = ipc::decode_fields<ipc::lease_close>(message)) {
            add_released(_arbiter.close(m->open), out);
        }
        break;
    case ipc::msg_type::lease_write:
        if (auto m = ipc::decode_fields<ipc::lease_write>(message)) {
            add_breaks(_arbiter.write(m->open, m->file, now), out);
        }
        break;
    default:
        break;
    }
    return out;
}

std::vector<bytes> lease_service::expire(clock::time_point now) {
    std::vector<bytes> out;
    add_released(_arbiter.expire(now), out);
    return out;
}

} // namespace smbx::leases
