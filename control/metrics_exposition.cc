#include "control/metrics_exposition.hh"

#include <array>
#include <set>
#include <string_view>

#include "control/admin_socket.hh"

namespace smbx {

namespace {

enum class kind { counter, gauge, untyped };

// What a status counter is as a metric: its name (smbx_ prefix, unit in the name,
// _total for counters) and help. The data plane's names stay as they are in
// `smbxctl status`; the metric names are what dashboards and alerts depend on.
struct metric_def {
    std::string_view status_name;
    std::string_view metric;
    kind type;
    std::string_view help;
};

constexpr metric_def defs[] = {
    {"file_read_fixed_bytes", "smbx_file_read_fixed_bytes_total", kind::counter,
     "Bytes read from files through io_uring into the registered buffer pool."},
    {"file_read_unregistered_bytes", "smbx_file_read_unregistered_bytes_total", kind::counter,
     "Bytes read from files into buffers outside the registered pool."},
    {"file_write_fixed_bytes", "smbx_file_write_fixed_bytes_total", kind::counter,
     "Bytes written to files through io_uring from the registered buffer pool."},
    {"file_write_unregistered_bytes", "smbx_file_write_unregistered_bytes_total", kind::counter,
     "Bytes written to files from buffers outside the registered pool."},
    {"payload_sent_from_pool_bytes", "smbx_payload_sent_from_pool_bytes_total", kind::counter,
     "READ payload bytes handed to a transport in the pool buffer they were read into."},
    {"payload_sent_zero_copy_bytes", "smbx_payload_sent_zero_copy_bytes_total", kind::counter,
     "Payload bytes the kernel sent straight from pool buffers (MSG_ZEROCOPY)."},
    {"payload_sent_over_zc_limit_bytes", "smbx_payload_sent_over_zc_limit_bytes_total",
     kind::counter,
     "Payload bytes copied by the kernel because a connection held its limit of "
     "zero-copy buffers."},
    {"payload_copied_bytes", "smbx_payload_copied_bytes_total", kind::counter,
     "READ payload bytes copied into a response message (compounds, AES-CCM)."},
    {"direct_io_bytes", "smbx_direct_io_bytes_total", kind::counter,
     "Bytes read or written with O_DIRECT on direct io shares."},
    {"direct_io_unaligned", "smbx_direct_io_unaligned_total", kind::counter,
     "Direct io requests that were not block aligned and went through the page cache."},
    {"tcp_recv_provided_buffers", "smbx_tcp_recv_provided_buffers_total", kind::counter,
     "TCP receives that brought data, each into one provided buffer."},
    {"tcp_recv_provided_bytes", "smbx_tcp_recv_provided_bytes_total", kind::counter,
     "Bytes received into provided buffers."},
    {"tcp_recv_lent_messages", "smbx_tcp_recv_lent_messages_total", kind::counter,
     "Messages handed to the SMB2 engine in the provided buffer they arrived in."},
    {"tcp_recv_assembled_bytes", "smbx_tcp_recv_assembled_bytes_total", kind::counter,
     "Bytes copied from provided buffers into a message's pool buffer."},
    {"tcp_recv_direct_bytes", "smbx_tcp_recv_direct_bytes_total", kind::counter,
     "Bytes received straight into a large message's pool buffer."},
    {"tcp_recv_no_buffers", "smbx_tcp_recv_no_buffers_total", kind::counter,
     "Times a worker's provided-buffer ring was empty (ENOBUFS)."},
    {"rdma_transfer_registrations", "smbx_rdma_transfer_registrations_total", kind::counter,
     "SMB Direct transfers whose buffer was registered for that transfer alone."},
    {"smb2_messages_on_worker", "smbx_smb2_messages_on_worker_total", kind::counter,
     "SMB2 messages a network worker processed itself."},
    {"smb2_messages_to_request_threads", "smbx_smb2_messages_to_request_threads_total",
     kind::counter, "SMB2 messages handed to the request threads."},
    {"smb2_read_file_reads", "smbx_smb2_read_file_reads_total", kind::counter,
     "File reads issued for SMB2 READ requests."},
    {"worker_file_reads", "smbx_worker_file_reads_total", kind::counter,
     "File reads a worker handed to its own io_uring."},
    {"worker_file_writes", "smbx_worker_file_writes_total", kind::counter,
     "File writes a worker handed to its own io_uring."},
    {"worker_file_syncs", "smbx_worker_file_syncs_total", kind::counter,
     "Write-through flushes a worker handed to its own io_uring."},
    {"smb2_completions_to_request_threads", "smbx_smb2_completions_to_request_threads_total",
     kind::counter, "Deferred READ/WRITE completions answered on a request thread."},
    {"server_copy_bytes", "smbx_server_copy_bytes_total", kind::counter,
     "Bytes copied inside the server by FSCTL_SRV_COPYCHUNK (server-side copy)."},
    {"oplock_breaks_sent", "smbx_oplock_breaks_sent_total", kind::counter,
     "Oplock break notifications sent to clients."},
    {"lease_breaks_sent", "smbx_lease_breaks_sent_total", kind::counter,
     "Lease break notifications sent to clients."},
    {"break_acknowledgements", "smbx_break_acknowledgements_total", kind::counter,
     "Oplock and lease break acknowledgements the arbiter accepted."},
    {"pool_bytes", "smbx_buffer_pool_bytes", kind::gauge, "Size of the buffer pool's region."},
    {"pool_hugepages", "smbx_buffer_pool_hugepages", kind::gauge,
     "1 if the buffer pool is backed by hugepages."},
    {"pool_gets", "smbx_buffer_pool_gets_total", kind::counter,
     "Buffers handed out from the pool's region."},
    {"pool_in_use", "smbx_buffer_pool_buffers_in_use", kind::gauge,
     "Pool buffers handed out and not yet returned."},
    {"pool_heap_fallbacks", "smbx_buffer_pool_heap_fallbacks_total", kind::counter,
     "Buffer requests the pool's region could not serve (heap instead)."},
    {"pool_reserved", "smbx_buffer_pool_buffers_reserved", kind::gauge,
     "Pool buffers held by long-lived owners."},
    {"dpdk_tcp_connections", "smbx_dpdk_tcp_connections", kind::gauge,
     "TCP connections in the DPDK transport's stacks."},
    {"dpdk_connections", "smbx_dpdk_connections", kind::gauge,
     "SMB connections on the DPDK transport."},
    {"dpdk_buffers_outstanding", "smbx_dpdk_buffers_outstanding", kind::gauge,
     "Buffers the DPDK stacks hold for unacknowledged data."},
    {"dpdk_mbufs_in_use", "smbx_dpdk_mbufs_in_use", kind::gauge, "DPDK mbufs in use."},
};

const metric_def* find_def(std::string_view status_name) {
    for (const auto& d : defs) {
        if (d.status_name == status_name) {
            return &d;
        }
    }
    return nullptr;
}

const char* type_name(kind k) {
    switch (k) {
    case kind::counter:
        return "counter";
    case kind::gauge:
        return "gauge";
    default:
        return "untyped";
    }
}

// A counter the table does not know (a transport's new one): named after itself, with
// only [a-zA-Z0-9_] kept, and typed by its prefix (the DPDK transport's published
// values are counters unless listed above as gauges).
std::string metric_name_of(std::string_view status_name, kind& type) {
    std::string name = "smbx_";
    for (char c : status_name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        name += ok ? c : '_';
    }
    type = status_name.starts_with("dpdk_") ? kind::counter : kind::untyped;
    if (type == kind::counter) {
        name += "_total";
    }
    return name;
}

void family(std::string& out, std::string_view name, kind type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type_name(type);
    out += '\n';
}

void sample(std::string& out, std::string_view name, std::string_view labels, uint64_t value) {
    out += name;
    if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
    }
    out += ' ' + std::to_string(value) + '\n';
}

// Sessions by dialect, signing and encryption: every combination, zeros included, so
// that each series exists from the first scrape on (rate() and alerts need that).
void sessions(std::string& out, const ipc::status_reply& s) {
    family(out, "smbx_sessions", kind::gauge,
           "Valid SMB sessions by dialect, signing and encryption.");
    constexpr std::array<uint16_t, 5> dialects{0x0202, 0x0210, 0x0300, 0x0302, 0x0311};
    for (uint16_t d : dialects) {
        for (bool sign : {false, true}) {
            for (bool enc : {false, true}) {
                uint64_t n = 0;
                for (const auto& x : s.sessions) {
                    n += x.dialect == d && x.signing == sign && x.encryption == enc;
                }
                sample(out, "smbx_sessions",
                       "dialect=\"" + dialect_name(d) + "\",signing=\"" + (sign ? "yes" : "no") +
                           "\",encryption=\"" + (enc ? "yes" : "no") + "\"",
                       n);
            }
        }
    }
    family(out, "smbx_open_files", kind::gauge, "Files and directories open over SMB.");
    sample(out, "smbx_open_files", "", s.opens.size());
}

std::string worker_label(uint32_t w) {
    return w == ipc::worker_counter::other_threads ? "worker=\"other\""
                                                   : "worker=\"" + std::to_string(w) + "\"";
}

// SMB2 command codes (MS-SMB2 2.2.1.2), as label values.
constexpr std::array<std::string_view, 19> command_names{
    "negotiate",     "session_setup", "logoff",   "tree_connect", "tree_disconnect",
    "create",        "close",         "flush",    "read",         "write",
    "lock",          "ioctl",         "cancel",   "echo",         "query_directory",
    "change_notify", "query_info",    "set_info", "oplock_break"};
constexpr std::array<std::string_view, 4> status_classes{"success", "informational", "warning",
                                                         "error"};

// The data plane's per-command counters, `smb2_command:<code>:<field>` by worker, as
// three labelled families.
void per_command(std::string& out, const ipc::status_reply& s) {
    std::string responses, request_bytes, response_bytes;
    for (const auto& wc : s.worker_counters) {
        std::string_view n = wc.name;
        if (!n.starts_with("smb2_command:")) {
            continue;
        }
        n.remove_prefix(13);
        size_t colon = n.find(':');
        size_t code = 0;
        for (char c : n.substr(0, colon)) {
            bool digit = c >= '0' && c <= '9' && code < command_names.size();
            code = digit ? code * 10 + size_t(c - '0') : command_names.size();
        }
        if (colon == std::string_view::npos || code >= command_names.size()) {
            continue;
        }
        std::string_view field = n.substr(colon + 1);
        std::string labels =
            "command=\"" + std::string(command_names[code]) + "\"," + worker_label(wc.worker);
        if (field.starts_with("responses_") && field.size() == 11 && field[10] >= '0' &&
            field[10] <= '3') {
            std::string l = "command=\"" + std::string(command_names[code]) + "\",status_class=\"" +
                            std::string(status_classes[size_t(field[10] - '0')]) + "\"," +
                            worker_label(wc.worker);
            sample(responses, "smbx_smb2_responses_total", l, wc.value);
        } else if (field == "request_bytes") {
            sample(request_bytes, "smbx_smb2_request_bytes_total", labels, wc.value);
        } else if (field == "response_bytes") {
            sample(response_bytes, "smbx_smb2_response_bytes_total", labels, wc.value);
        }
    }
    if (responses.empty()) {
        return; // a data plane without them
    }
    family(out, "smbx_smb2_responses_total", kind::counter,
           "SMB2 responses by command and NTSTATUS severity class (an async request counts at "
           "its interim response).");
    out += responses;
    family(out, "smbx_smb2_request_bytes_total", kind::counter,
           "Bytes of SMB2 requests (header, body, WRITE data) by command.");
    out += request_bytes;
    family(out, "smbx_smb2_response_bytes_total", kind::counter,
           "Bytes of SMB2 responses (header, body, READ data) by command.");
    out += response_bytes;
}

} // namespace

std::string format_metrics(const std::optional<ipc::status_reply>& status) {
    std::string out;
    family(out, "smbx_dataplane_up", kind::gauge,
           "1 if the data plane answered this scrape's status request, else 0.");
    sample(out, "smbx_dataplane_up", "", status ? 1 : 0);
    if (!status) {
        return out;
    }
    sessions(out, *status);
    per_command(out, *status);
    std::set<std::string> done; // a name the data plane listed twice is exposed once
    for (const auto& [name, value] : status->counters) {
        kind type = kind::untyped;
        std::string help = "Data-path value " + name + " (smbxctl status).";
        std::string metric;
        if (const auto* d = find_def(name)) {
            metric = std::string(d->metric);
            type = d->type;
            help = std::string(d->help);
        } else {
            metric = metric_name_of(name, type);
        }
        if (!done.insert(metric).second) {
            continue;
        }
        family(out, metric, type, help);
        // Per worker where the data plane counts per thread; the sum over the worker
        // label is what `smbxctl status` shows.
        bool by_worker = false;
        for (const auto& wc : status->worker_counters) {
            if (wc.name == name) {
                sample(out, metric, worker_label(wc.worker), wc.value);
                by_worker = true;
            }
        }
        if (!by_worker) {
            sample(out, metric, "", value);
        }
    }
    return out;
}

} // namespace smbx
