#include "dataplane/net/tcp_events.hh"

namespace smbx::net {

const char* to_string(tcp_state s) {
    switch (s) {
    case tcp_state::closed:
        return "CLOSED";
    case tcp_state::listen:
        return "LISTEN";
    case tcp_state::syn_sent:
        return "SYN-SENT";
    case tcp_state::syn_received:
        return "SYN-RECEIVED";
    case tcp_state::established:
        return "ESTABLISHED";
    case tcp_state::fin_wait_1:
        return "FIN-WAIT-1";
    case tcp_state::fin_wait_2:
        return "FIN-WAIT-2";
    case tcp_state::close_wait:
        return "CLOSE-WAIT";
    case tcp_state::closing:
        return "CLOSING";
    case tcp_state::last_ack:
        return "LAST-ACK";
    case tcp_state::time_wait:
        return "TIME-WAIT";
    }
    return "?";
}

} // namespace smbx::net
