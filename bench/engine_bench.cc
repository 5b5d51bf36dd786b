// The cost of a request in the SMB2 engine, without the network: header parse, and a
// whole ECHO through process_message (credit check, session check, dispatch, response
// build). smbtorture's smb2.bench.echo measures the same path end to end.
#include <benchmark/benchmark.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.hh"
#include "dataplane/control_client.hh"
#include "dataplane/smb2/dispatch.hh"

using namespace smbx;

namespace {

bytes echo_request(uint64_t message_id, uint64_t session_id) {
    smb2::header h;
    h.cmd = smb2::command::echo;
    h.message_id = message_id;
    h.session_id = session_id;
    h.credits = 1;
    h.credit_charge = 1;
    byte_writer w;
    smb2::write_header(w, h);
    w.u16(4);
    w.u16(0);
    return w.take();
}

void header_parse(benchmark::State& state) {
    bytes m = echo_request(1, 7);
    smb2::header h;
    for (auto _ : state) {
        benchmark::DoNotOptimize(smb2::parse_header(m, h));
        benchmark::DoNotOptimize(h);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(header_parse);

void echo_through_engine(benchmark::State& state) {
    log::set_level(-1);
    control_channel channel;
    channel.create();
    int a = eventfd(0, 0), b = eventfd(0, 0);
    control_client control(channel, a, b);
    dataplane_settings settings;
    smb2::connection conn(settings, control, "bench");
    conn.negotiated = true;
    conn.dialect = smb2::dialect_311;
    conn.credits.consume(0, 1);
    conn.credits.grant(8000);
    auto s = std::make_shared<smb2::session>();
    s->id = 7;
    s->st = smb2::session::state::valid;
    conn.add_channel(std::move(s));
    uint64_t mid = 1;
    for (auto _ : state) {
        auto r = smb2::process_message(conn, pool_buffer(echo_request(mid++, 7)));
        benchmark::DoNotOptimize(r);
    }
    state.SetItemsProcessed(state.iterations());
    close(a);
    close(b);
}
BENCHMARK(echo_through_engine);

} // namespace
