#include "dataplane/smb_server.hh"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/log.hh"
#include "dataplane/runtime/async_file_io.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/runtime/worker.hh"
#include "dataplane/smb2/dispatch.hh"

namespace smbx {

request_executor& smb_server::executor_here() const {
    worker* w = worker::current();
    return *_executors[w ? w->index() % _executors.size() : 0];
}

void smb_server::on_connect(const std::shared_ptr<transport_connection>& conn) {
    auto c = std::make_shared<client>();
    // Called on the worker that owns the connection for life: its requests that leave
    // the worker run on the helper threads of that worker's core.
    c->strand = executor_here().make_strand();
    c->state = std::make_unique<smb2::connection>(_settings, _control, conn->peer_address());
    if (conn->supports_rdma_channel()) {
        c->state->rdma = conn;
    }
    c->state->all_sessions = _sessions;
    c->state->leases = _leases;
    c->state->multichannel = _settings.multichannel != 0;
    // Completions from other threads (directory changes for CHANGE_NOTIFY) run on the
    // connection's strand like its messages, and their final responses go out in order
    // with the other replies. Weak references: the connection state owns this runner.
    std::weak_ptr<client> weak_client = c;
    std::weak_ptr<transport_connection> weak_conn = conn;
    c->state->run_on_strand = [weak_client, weak_conn](smb2::connection::strand_task task) {
        auto c = weak_client.lock();
        if (!c) {
            return;
        }
        c->strand->post([c, weak_conn, task = std::move(task)] {
            std::lock_guard lock(c->state_mutex);
            auto t = weak_conn.lock();
            if (c->closed || !c->state || !t) {
                return;
            }
            task(*c->state);
            for (auto& reply : c->state->take_outbox()) {
                t->send(std::move(reply));
            }
        });
    };
    conn->engine_state = c;
    std::lock_guard lock(_clients_mutex);
    _clients[conn.get()] = std::move(c);
}

namespace {

// SMBX_CAPTURE_DIR=dir writes every received message to a file there: how the fuzz
// seed corpora were captured from real clients. Off unless the variable is set.
void capture(byte_span msg) {
    static const char* dir = getenv("SMBX_CAPTURE_DIR");
    static std::atomic<unsigned> counter{0};
    if (!dir) {
        return;
    }
    std::string path =
        std::string(dir) + "/msg-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    if (FILE* f = fopen(path.c_str(), "wb")) {
        fwrite(msg.data(), 1, msg.size(), f);
        fclose(f);
    }
}

} // namespace

namespace {

// Sends what processing produced; closes the connection after a protocol error.
void deliver(const std::shared_ptr<transport_connection>& conn, smb2::processing_result& result,
             bool& closed) {
    for (auto& reply : result.replies) {
        conn->send(std::move(reply));
    }
    if (result.disconnect) {
        LOG_INFO("%s: closing connection (protocol error)", conn->peer_address().c_str());
        closed = true;
        conn->close();
    }
}

} // namespace

// Called on the worker that owns the connection, when nothing of this connection is
// queued before the message. Where it runs is the engine's decision (plan_message, the
// command table's placement column): an ECHO, a READ or a WRITE run right here,
// encrypted or not; the rest goes to the connection's strand on the request threads,
// decrypted already if it was encrypted. A READ or WRITE whose file I/O may wait is
// suspended after its checks, its I/O queued on this worker's ring, and it is answered
// from the completion (finish_suspended), here too.
bool smb_server::process_on_worker(const std::shared_ptr<client>& c,
                                   const std::shared_ptr<transport_connection>& conn,
                                   pool_buffer& msg, smb2::message_plan& plan) {
    async_file_io* io = async_file_io::local();
    if (!io || !c->strand->idle()) {
        return false; // not on a worker (a test), or ordered behind queued work
    }
    std::unique_lock lock(c->state_mutex, std::try_to_lock);
    if (!lock || c->closed || !c->state) {
        return false;
    }
    byte_span inner = msg.view();
    if (byte_reader(inner).u32() == smb2::transform_protocol_id) {
        if (!smb2::decrypt_in_place(*c->state, msg)) {
            c->closed = true;
            conn->close();
            return true;
        }
        plan.decrypted = true;
        inner = msg.view().subspan(smb2::transform_header_size);
    }
    bool decrypted = plan.decrypted;
    plan = smb2::plan_message(*c->state, inner);
    plan.decrypted = decrypted;
    if (!plan.on_worker) {
        return false;
    }
    auto result = smb2::process_planned(*c->state, std::move(msg), plan);
    deliver(conn, result, c->closed);
    counters::add(counters::data().smb2_messages_on_worker, 1);
    if (result.suspended) {
        auto s = result.suspended;
        smb2::start_suspended(*s, *io, [c, conn, s] { finish_suspended(c, conn, s); });
    }
    return true;
}

// The completion of a suspended request's file I/O, on the worker: it is answered
// here unless a request thread holds the connection now; then on the strand, after it.
void smb_server::finish_suspended(const std::shared_ptr<client>& c,
                                  const std::shared_ptr<transport_connection>& conn,
                                  const std::shared_ptr<smb2::suspended_request>& s) {
    auto finish = [c, conn, s] {
        if (c->closed || !c->state) {
            return; // the connection went while the I/O ran: nobody to answer
        }
        auto result = smb2::finish_suspended(*c->state, *s);
        deliver(conn, result, c->closed);
    };
    if (std::unique_lock lock(c->state_mutex, std::try_to_lock); lock) {
        finish();
        return;
    }
    counters::add(counters::data().smb2_completions_to_request_threads, 1);
    c->strand->post([c, finish] {
        std::lock_guard lock(c->state_mutex);
        finish();
    });
}

void smb_server::on_message(const std::shared_ptr<transport_connection>& conn, pool_buffer msg) {
    // Every transport delivers here, SMB Direct too (its MS-SMBD reassembly has its own,
    // larger maximum), so the connection's limit is enforced once, here: before a
    // session exists it is small (transport.hh max_incoming), as a server limits what an
    // unauthenticated client can make it hold; MS-SMB2 3.3.5.2 lets it disconnect on a
    // message it will not take. The Direct TCP framers refuse such a message at its
    // header already, before allocating for it.
    if (uint32_t limit = conn->max_incoming.load(std::memory_order_relaxed); msg.size() > limit) {
        LOG_WARN("%s: a %zu-byte message, over the connection's limit of %u; closing",
                 conn->peer_address().c_str(), msg.size(), limit);
        conn->close();
        return;
    }
    capture(msg.view());
    auto c = std::static_pointer_cast<client>(conn->engine_state);
    if (!c) {
        return;
    }
    smb2::message_plan plan;
    if (process_on_worker(c, conn, msg, plan)) {
        return;
    }
    counters::add(counters::data().smb2_messages_to_request_threads, 1);
    // The strand's queue holds copyable tasks; the buffer travels in a shared box.
    auto box = std::make_shared<pool_buffer>(std::move(msg));
    c->strand->post([c, conn, box, plan] {
        std::lock_guard lock(c->state_mutex);
        if (c->closed) {
            return;
        }
        auto result = smb2::process_planned(*c->state, std::move(*box), plan);
        // Large messages (WRITEs) once the connection has a session (transport.hh).
        if (conn->max_incoming.load(std::memory_order_relaxed) <
                transport_connection::max_message &&
            c->state->has_valid_session()) {
            conn->max_incoming.store(transport_connection::max_message, std::memory_order_relaxed);
        }
        deliver(conn, result, c->closed);
    });
}

void smb_server::on_disconnect(const std::shared_ptr<transport_connection>& conn) {
    std::shared_ptr<client> c;
    {
        std::lock_guard lock(_clients_mutex);
        auto it = _clients.find(conn.get());
        if (it == _clients.end()) {
            return;
        }
        c = std::move(it->second);
        _clients.erase(it);
    }
    conn->engine_state.reset();
    // Tear down on the strand, after any message still being processed.
    c->strand->post([c] {
        std::lock_guard lock(c->state_mutex);
        c->closed = true;
        c->state.reset();
    });
}

ipc::status_reply smb_server::status() {
    // From the server-wide session table, without any connection's lock: this runs on
    // the worker that polls the control ring, and waiting there for a connection busy
    // with RDMA transfers on that same worker would stall both (a status request then
    // took seconds and timed out).
    ipc::status_reply out;
    for (auto& sp : _sessions->all()) {
        auto& s = *sp;
        if (s.st != smb2::session::state::valid || s.logged_off) {
            continue;
        }
        out.sessions.push_back(
            {s.id, s.user, s.client_address, s.dialect, s.signing_required, s.encrypt_data});
        for (auto& h : s.opens()) {
            auto t = s.find_tree(h->tree_id);
            out.opens.push_back({h->session_id, t ? t->share.name : std::string(), h->path,
                                 smb2::caching_text(*h)});
        }
    }
    out.counters = counters::snapshot();
    for (const auto& v : counters::per_worker_snapshot()) {
        bool other = v.worker == counters::data_path::not_a_worker;
        out.worker_counters.push_back(
            {v.name, other ? ipc::worker_counter::other_threads : v.worker, v.value});
    }
    return out;
}

} // namespace smbx
