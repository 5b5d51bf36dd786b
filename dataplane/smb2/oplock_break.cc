// SMB2 OPLOCK_BREAK acknowledgements (MS-SMB2 2.2.24, 3.3.5.22): the client tells what
// it kept of an oplock (StructureSize 24, 3.3.5.22.1) or a lease (StructureSize 36,
// 3.3.5.22.2) after a break; the arbiter in smbx-control checks it against the break
// under way and answers with the status and the state now held, which the response
// carries (2.2.25.1, 2.2.25.2). The command table leaves the StructureSize to this
// handler, the one command with two.
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/smb2/handlers.hh"
#include "dataplane/smb2/lease_messages.hh"
#include "dataplane/smb2/lease_router.hh"
#include "dataplane/smb2/open_lookup.hh"

namespace smbx::smb2 {

namespace {

// The arbiter's verdict on an acknowledgement: the state now held, or nothing after
// failing the request with the status it gave (UNSUCCESSFUL when it did not answer).
std::optional<uint8_t> ask_arbiter(request& req, response& resp, const ipc::lease_ack_request& a) {
    auto reply = req.conn.leases->arbiter().lease_ack(a);
    if (!reply || reply->status != status::success) {
        resp.fail(reply ? reply->status : status::unsuccessful);
        return std::nullopt;
    }
    counters::add(counters::data().break_acknowledgements, 1);
    return reply->state;
}

void acknowledge_oplock(request& req, response& resp, byte_span body) {
    auto ack = parse_oplock_break_ack(body);
    if (!ack) {
        resp.fail(status::invalid_parameter);
        return;
    }
    auto h = open_or_fail(req, resp, ack->id);
    if (!h) {
        return;
    }
    auto* m = membership_of(*h);
    if (!m || m->lease) {
        resp.fail(status::invalid_device_state); // 3.3.5.22.1: no oplock is breaking
        return;
    }
    ipc::lease_ack_request a;
    a.open = m->ref;
    a.state = ack->level;
    if (auto state = ask_arbiter(req, resp, a)) {
        m->set_caching(caching_of_oplock(*state));
        resp.body.put(write_oplock_break(*state, h->id));
    }
}

void acknowledge_lease(request& req, response& resp, byte_span body) {
    auto ack = parse_lease_break_ack(body);
    if (!ack || !req.conn.large_mtu()) { // leases are 2.1 and later
        resp.fail(status::invalid_parameter);
        return;
    }
    if (!req.conn.leases) {
        resp.fail(status::object_name_not_found); // 3.3.5.22.2: no such lease
        return;
    }
    if (ack->state > 0xFF) {
        resp.fail(status::request_not_accepted); // more than any lease holds
        return;
    }
    ipc::lease_ack_request a;
    a.lease = true;
    a.client = req.conn.client_guid;
    a.lease_key = ack->key;
    a.state = uint8_t(ack->state);
    if (auto state = ask_arbiter(req, resp, a)) {
        resp.body.put(write_lease_break_response(ack->key, *state));
    }
}

} // namespace

void handle_oplock_break(request& req, response& resp) {
    byte_span body = req.message.subspan(header_size);
    uint16_t size = byte_reader(body).u16();
    if (size == 24) {
        if (!req.conn.leases) {
            resp.fail(status::invalid_device_state); // no oplock was granted
            return;
        }
        acknowledge_oplock(req, resp, body);
    } else if (size == 36) {
        acknowledge_lease(req, resp, body);
    } else {
        resp.fail(status::invalid_parameter);
    }
}

} // namespace smbx::smb2
