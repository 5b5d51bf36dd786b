// libFuzzer target for what smbx-control takes from the data plane, which it must not
// trust: a compromised or buggy data plane must not crash or hang the control plane
// that holds the secrets. The first byte picks the mode:
//   even: messages. The rest is records (u16 length, bytes). Each record goes through
//         every decoder of common/ipc_messages.cc (a decoded message re-encodes to the
//         same length and to a fixed point), then onto the to_control ring, and
//         control_service answers them all (real authenticator, a config with a
//         restricted share) while it waits for a status reply (in parts, assembled
//         only when complete and in order). Every request that decodes gets exactly
//         one reply of its kind, under its id, in order.
//   odd:  the shared memory itself. The rest overwrites the to_control ring's header
//         (head, tail, geometry), to_dataplane's geometry and the first to_control slots; control
//         then serves and queries status as above, and must still answer afterwards.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sys/eventfd.h>
#include <vector>

#include "common/control_channel.hh"
#include "common/ipc_messages.hh"
#include "common/lease_ipc.hh"
#include "common/log.hh"
#include "common/ntstatus.hh"
#include "control/admin_socket.hh"
#include "control/auth/authenticator.hh"
#include "control/auth/nt_hash.hh"
#include "control/config.hh"
#include "control/control_service.hh"
#include "control/metrics_exposition.hh"
#include "control/status_json.hh"
#include "tests/fuzz/fuzz_check.hh"

using namespace smbx;
using smbx::fuzzing::check;

namespace {

constexpr size_t max_records = 200; // below the ring's 256 slots, with the status request

struct world {
    control_channel channel;
    // Non-blocking: on_wake drains the eventfd whether or not anything woke it.
    int wake_control = eventfd(0, EFD_NONBLOCK);
    int wake_dataplane = eventfd(0, EFD_NONBLOCK);
    config::server_config cfg;

    world() {
        log::set_level(-1);
        check(channel.create());
        auto r = config::parse("[global]\n"
                               "[share]\n  path = /tmp\n"
                               "[private]\n  path = /tmp\n  valid users = alice\n"
                               "[guest]\n  path = /tmp\n  guest ok = yes\n",
                               "fuzz.conf");
        check(r.ok());
        cfg = std::move(r.config);
    }

    uint8_t* ring_memory(uint64_t offset) {
        return reinterpret_cast<uint8_t*>(&channel.layout()) + offset;
    }
    // Back to two empty rings, whatever the input wrote into them.
    void reset_rings() {
        auto& l = channel.layout();
        shm_ring::format(ring_memory(l.to_control_offset), control_channel::slot_count,
                         control_channel::slot_size);
        shm_ring::format(ring_memory(l.to_dataplane_offset), control_channel::slot_count,
                         control_channel::slot_size);
    }
};

world& the_world() {
    static world w;
    return w;
}

std::optional<auth::nt_hash> lookup(std::string_view user) {
    static const auth::nt_hash alice = auth::compute_nt_hash("Password");
    if (config::iequals(user, "alice")) {
        return alice;
    }
    return std::nullopt;
}

// A decoded message re-encodes to as many bytes as it came in (the format has no
// slack), and decoding that gives the same encoding again.
template <typename Decode, typename Encode>
bool round_trip(byte_span m, uint64_t id, Decode decode, Encode encode) {
    auto v = decode(m);
    if (!v) {
        return false;
    }
    bytes once = encode(id, *v);
    check(once.size() == m.size());
    auto again = decode(once);
    check(again.has_value() && encode(id, *again) == once);
    return true;
}

#define ENCODER(type) [](uint64_t id, const type& v) { return ipc::encode(id, v); }

// What control owes the data plane for one record, if it decodes as a request.
struct expected_reply {
    ipc::msg_type type;
    uint64_t id;
};

// What control makes of the status reply parts of id 1 (the id a fresh service's
// query_status asks with): complete once the parts 0..n came in order, the last without
// `more`; refused at the first part out of order; parts after either are ignored.
struct status_model {
    enum class state { waiting, complete, refused };
    state st = state::waiting;
    uint32_t next_part = 0;
    size_t sessions = 0;

    void see(const ipc::status_reply& part) {
        if (st != state::waiting) {
            return;
        }
        if (part.part != next_part) {
            st = state::refused;
            return;
        }
        ++next_part;
        sessions += part.sessions.size();
        if (!part.more) {
            st = state::complete;
        }
    }
};

std::optional<expected_reply> decode_everything(byte_span m, status_model& status_for_1) {
    auto h = ipc::decode_header(m);
    if (!h) {
        check(m.size() < 16);
        return std::nullopt;
    }
    std::optional<expected_reply> expect;
    if (round_trip(m, h->id, ipc::decode_auth_request, ENCODER(ipc::auth_request))) {
        expect = expected_reply{ipc::msg_type::auth_reply, h->id};
    }
    round_trip(m, h->id, ipc::decode_auth_reply, ENCODER(ipc::auth_reply));
    round_trip(m, h->id, ipc::decode_auth_abandon, ENCODER(ipc::auth_abandon));
    if (round_trip(m, h->id, ipc::decode_tree_connect_request,
                   ENCODER(ipc::tree_connect_request))) {
        expect = expected_reply{ipc::msg_type::tree_connect_reply, h->id};
    }
    round_trip(m, h->id, ipc::decode_tree_connect_reply, ENCODER(ipc::tree_connect_reply));
    round_trip(m, h->id, ipc::decode_share_enum_reply, ENCODER(ipc::share_enum_reply));
    round_trip(m, h->id, ipc::decode_hello, ipc::encode_hello);
    if (auto s = ipc::decode_status_reply(m)) {
        check(round_trip(m, h->id, ipc::decode_status_reply, ENCODER(ipc::status_reply)));
        // What smbxctl prints from it (text, JSON, metrics), and its split into ring slots:
        // every part fits and they add up to every entry again.
        (void)format_status(*s);
        (void)format_status_json(*s, 1);
        (void)format_metrics(*s);
        ipc::status_reply whole;
        for (const auto& part : ipc::encode_status_parts(h->id, *s, 4096)) {
            check(part.size() <= 4096);
            auto p = ipc::decode_status_reply(part);
            check(p && ipc::append_status_part(whole, std::move(*p)));
        }
        check(!whole.more && whole.sessions.size() == s->sessions.size() &&
              whole.opens.size() == s->opens.size() &&
              whole.counters.size() == s->counters.size() &&
              whole.worker_counters.size() == s->worker_counters.size());
        if (h->id == 1) {
            status_for_1.see(*s);
        }
    }
    if (h->type == ipc::msg_type::share_enum_request) {
        expect = expected_reply{ipc::msg_type::share_enum_reply, h->id};
    }
    // Lease arbitration (lease_ipc_fuzz covers its rules): an open or acknowledgement
    // request is answered once; breaks and releases come besides, under id 0.
    if (ipc::decode_fields<ipc::lease_open_request>(m)) {
        expect = expected_reply{ipc::msg_type::lease_open_reply, h->id};
    }
    if (ipc::decode_fields<ipc::lease_ack_request>(m)) {
        expect = expected_reply{ipc::msg_type::lease_ack_reply, h->id};
    }
    if (ipc::decode_fields<ipc::lease_handles_request>(m)) {
        expect = expected_reply{ipc::msg_type::lease_handles_reply, h->id};
    }
    return expect;
}

// The one security rule in the replies: `valid users` keeps everyone else out.
void check_tree_connect(const ipc::tree_connect_request& req, const ipc::tree_connect_reply& r) {
    if (r.status == status::success && config::iequals(r.share.name, "private")) {
        check(!req.guest && !req.anonymous && config::iequals(req.user, "alice"));
    }
}

// The next message control sent that answers a request: the lease breaks and releases
// between the replies are checked and passed over.
std::optional<bytes> next_reply(world& w) {
    for (;;) {
        auto m = w.channel.to_dataplane().pop();
        if (!m) {
            return m;
        }
        auto h = ipc::decode_header(*m);
        if (h && h->type == ipc::msg_type::lease_break) {
            check(h->id == 0 && ipc::decode_fields<ipc::lease_break>(*m).has_value());
        } else if (h && h->type == ipc::msg_type::lease_released) {
            check(h->id == 0 && ipc::decode_fields<ipc::lease_released>(*m).has_value());
        } else {
            return m;
        }
    }
}

void run_messages(world& w, control_service& svc, byte_span input) {
    byte_reader r(input);
    std::vector<bytes> records;
    while (r.remaining() >= 2 && records.size() < max_records) {
        uint16_t len = r.u16();
        auto rec = r.take(std::min<size_t>(len, r.remaining()));
        records.emplace_back(rec.begin(), rec.end());
    }
    std::vector<expected_reply> expected;
    std::vector<std::optional<ipc::tree_connect_request>> tree_requests;
    status_model status_for_1;
    for (const auto& rec : records) {
        if (rec.size() > w.channel.to_control().max_message()) {
            continue;
        }
        auto e = decode_everything(rec, status_for_1);
        check(w.channel.to_control().push(rec));
        if (e) {
            expected.push_back(*e);
            tree_requests.push_back(ipc::decode_tree_connect_request(rec));
        }
    }
    // A fresh service asks with id 1; only status reply parts of that id, complete and
    // in order, answer it.
    auto status = svc.query_status(std::chrono::milliseconds(0));
    check(status.has_value() == (status_for_1.st == status_model::state::complete));
    check(!status || status->sessions.size() == status_for_1.sessions);

    auto first = w.channel.to_dataplane().pop();
    check(first && ipc::decode_header(*first)->type == ipc::msg_type::status_request);
    for (size_t i = 0; i < expected.size(); ++i) {
        auto reply = next_reply(w);
        check(reply.has_value());
        auto h = ipc::decode_header(*reply);
        check(h && h->type == expected[i].type && h->id == expected[i].id);
        if (h->type == ipc::msg_type::tree_connect_reply) {
            auto tc = ipc::decode_tree_connect_reply(*reply);
            check(tc.has_value());
            check_tree_connect(*tree_requests[i], *tc);
        }
    }
    check(!next_reply(w));
}

// The rings as a hostile data plane may leave them: counters and geometry rewritten,
// slots with any length.
void run_shared_memory(world& w, control_service& svc, byte_span input) {
    auto& l = w.channel.layout();
    uint8_t* to_control = w.ring_memory(l.to_control_offset);
    uint8_t* to_dataplane = w.ring_memory(l.to_dataplane_offset);
    byte_reader r(input);
    if (r.remaining() >= 24) {
        auto* h = reinterpret_cast<shm_ring_header*>(to_control);
        h->head.store(r.u64());
        h->tail.store(r.u64());
        h->slot_count = r.u32();
        h->slot_size = r.u32();
    }
    // On to_dataplane only the geometry: a ring the data plane keeps full just makes
    // control retry each reply for a second (control_service::send), by design.
    if (r.remaining() >= 8) {
        auto* h = reinterpret_cast<shm_ring_header*>(to_dataplane);
        h->slot_count = r.u32();
        h->slot_size = r.u32();
    }
    auto rest = r.take(std::min<size_t>(r.remaining(), 4 * control_channel::slot_size));
    if (!rest.empty()) {
        std::memcpy(to_control + sizeof(shm_ring_header), rest.data(), rest.size());
    }
    svc.on_wake();
    (void)svc.query_status(std::chrono::milliseconds(0));
    svc.reset_rings();
    // Control still answers once the rings are sane again.
    w.reset_rings();
    check(w.channel.to_control().push(ipc::encode_share_enum_request(7)));
    svc.on_wake();
    auto reply = w.channel.to_dataplane().pop();
    check(reply && ipc::decode_share_enum_reply(*reply).has_value());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    world& w = the_world();
    auth::auth_policy policy;
    policy.allow_anonymous = true;
    auth::authenticator authenticator(policy, lookup);
    auth_backend backend{[&](const ipc::auth_request& r) { return authenticator.step(r); },
                         [&](uint64_t id) { authenticator.abandon(id); }};
    control_service svc(w.cfg, backend, w.channel, w.wake_control, w.wake_dataplane);
    byte_span input(data + 1, size - 1);
    if (data[0] % 2 == 0) {
        run_messages(w, svc, input);
    } else {
        run_shared_memory(w, svc, input);
    }
    w.reset_rings();
    return 0;
}
