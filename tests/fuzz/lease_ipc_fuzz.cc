// What smbx-control's lease arbitration takes from the data plane, which it must not
// trust (common/lease_ipc.hh, control/leases/lease_service). The input is records
// (u16 length, bytes), each a message handed to one lease_service in turn, the clock
// moving a second a record; then every break falls due. Whatever comes back decodes
// as its type; an open or acknowledgement request that decodes gets exactly one reply,
// under its id; the arbiter never holds an owner once every open is closed.
#include <cstddef>
#include <cstdint>
#include <set>

#include "common/lease_ipc.hh"
#include "control/leases/lease_service.hh"
#include "tests/fuzz/fuzz_check.hh"

using namespace smbx;
using smbx::fuzzing::check;

namespace {

bool decodes_as_its_type(const bytes& m) {
    auto h = ipc::decode_header(m);
    if (!h) {
        return false;
    }
    switch (h->type) {
    case ipc::msg_type::lease_open_reply:
        return ipc::decode_fields<ipc::lease_open_reply>(m).has_value();
    case ipc::msg_type::lease_ack_reply:
        return ipc::decode_fields<ipc::lease_ack_reply>(m).has_value();
    case ipc::msg_type::lease_handles_reply:
        return ipc::decode_fields<ipc::lease_handles_reply>(m).has_value();
    case ipc::msg_type::lease_break:
        return ipc::decode_fields<ipc::lease_break>(m).has_value();
    case ipc::msg_type::lease_released:
        return ipc::decode_fields<ipc::lease_released>(m).has_value();
    default:
        return false;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    leases::lease_service svc(std::chrono::seconds(35));
    auto now = leases::clock::time_point{} + std::chrono::hours(1);
    // The input read as a re-exec's handover (lease_arbiter::restore): refused or taken
    // whole, and what is taken snapshots back to bytes that restore again.
    if (auto a =
            leases::lease_arbiter::restore(byte_span(data, size), std::chrono::seconds(35), now)) {
        check(leases::lease_arbiter::restore(a->snapshot(now), std::chrono::seconds(35), now)
                  .has_value());
    }
    std::set<uint64_t> opens;
    byte_reader in(byte_span(data, size));
    while (in.remaining() >= 2) {
        size_t n = in.u16();
        byte_span msg = in.take(std::min(n, in.remaining()));
        auto out = svc.handle(msg, now);
        size_t replies = 0;
        for (const auto& m : out) {
            check(decodes_as_its_type(m));
            auto h = ipc::decode_header(m);
            if (h->type == ipc::msg_type::lease_open_reply ||
                h->type == ipc::msg_type::lease_ack_reply ||
                h->type == ipc::msg_type::lease_handles_reply) {
                check(h->id == ipc::decode_header(msg)->id);
                ++replies;
            }
        }
        bool asks = ipc::decode_fields<ipc::lease_open_request>(msg) ||
                    ipc::decode_fields<ipc::lease_ack_request>(msg) ||
                    ipc::decode_fields<ipc::lease_handles_request>(msg);
        check(replies == (asks ? 1u : 0u));
        if (auto o = ipc::decode_fields<ipc::lease_open_request>(msg)) {
            opens.insert(o->open);
        }
        now += std::chrono::seconds(1);
    }
    // Whatever the messages built survives a handover whole.
    auto handed = leases::lease_arbiter::restore(svc.snapshot(now), std::chrono::seconds(35), now);
    check(handed && handed->owners() == svc.arbiter().owners());
    for (const auto& m : svc.expire(now + std::chrono::hours(1))) {
        check(decodes_as_its_type(m));
    }
    check(!svc.next_deadline());
    for (uint64_t o : opens) {
        svc.handle(ipc::encode_fields(0, ipc::lease_close{o}), now);
    }
    check(svc.arbiter().owners() == 0);
    return 0;
}
