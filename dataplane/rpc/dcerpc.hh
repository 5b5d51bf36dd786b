// Connection-oriented DCE/RPC (C706 chapter 12, MS-RPCE 2.2.2) as carried over a
// named pipe (ncacn_np): the PDU codec, and `connection`, the server side of one
// association (bind / alter_context, request reassembly, response fragmentation).
// Only NDR 2.0 with little-endian / ASCII / IEEE data representation and no
// authentication are supported; everything else is rejected the way C706 says.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_codec.hh"

namespace smbx::dcerpc {

// C706 12.6.4 / MS-RPCE 2.2.2.1: PDU types.
enum class ptype : uint8_t {
    request = 0,
    response = 2,
    fault = 3,
    bind = 11,
    bind_ack = 12,
    bind_nak = 13,
    alter_context = 14,
    alter_context_resp = 15,
    auth3 = 16,
    shutdown = 17,
    co_cancel = 18,
    orphaned = 19,
};

// C706 12.6.3.1 pfc_flags.
namespace pfc {
constexpr uint8_t first_frag = 0x01;
constexpr uint8_t last_frag = 0x02;
constexpr uint8_t pending_cancel = 0x04; // MS-RPCE: PFC_SUPPORT_HEADER_SIGN in bind
constexpr uint8_t conc_mpx = 0x10;
constexpr uint8_t did_not_execute = 0x20;
constexpr uint8_t maybe = 0x40;
constexpr uint8_t object_uuid = 0x80;
} // namespace pfc

// Fault statuses (C706 appendix E, MS-RPCE 2.2.2.12 / 3.1.1.5.5).
namespace fault {
constexpr uint32_t access_denied = 0x00000005;
constexpr uint32_t bad_stub_data = 0x000006F7; // nca_s_fault_ndr / RPC_X_BAD_STUB_DATA
constexpr uint32_t op_rng_error = 0x1C010002;
constexpr uint32_t unknown_if = 0x1C010003;
constexpr uint32_t proto_error = 0x1C01000B;
} // namespace fault

// C706 12.6.3.1 p_cont_def_result_t / p_provider_reason_t, MS-RPCE 2.2.2.4.
namespace ctx_result {
constexpr uint16_t acceptance = 0;
constexpr uint16_t user_rejection = 1;
constexpr uint16_t provider_rejection = 2;
constexpr uint16_t negotiate_ack = 3;
} // namespace ctx_result
namespace ctx_reason {
constexpr uint16_t not_specified = 0;
constexpr uint16_t abstract_syntax_not_supported = 1;
constexpr uint16_t proposed_transfer_syntaxes_not_supported = 2;
constexpr uint16_t local_limit_exceeded = 3;
} // namespace ctx_reason

// C706 12.6.3.1 p_reject_reason_t (bind_nak).
namespace nak_reason {
constexpr uint16_t not_specified = 0;
constexpr uint16_t protocol_version_not_supported = 4;
constexpr uint16_t authentication_type_not_recognized = 8;
} // namespace nak_reason

// MS-RPCE 2.2.2.14 bind time feature bits (in the negotiate_ack reason).
namespace bind_time_feature {
constexpr uint16_t security_context_multiplexing = 0x0001;
constexpr uint16_t keep_connection_on_orphan = 0x0002;
} // namespace bind_time_feature

constexpr size_t header_size = 16;
constexpr size_t request_header_size = 24; // common header + alloc_hint, p_cont_id, opnum
constexpr size_t response_header_size = 24;
// C706 12.6.3.1: every implementation must accept fragments of this size.
constexpr uint16_t min_frag_size = 1432;
// The largest fragment we send or want to receive (what Windows and Samba use on SMB).
constexpr uint16_t max_frag_size = 4280;
// Largest request stub we reassemble from fragments.
constexpr size_t max_request_size = 4 * 1024 * 1024;

// A UUID in its NDR little-endian wire form (C706 appendix A).
struct uuid {
    std::array<uint8_t, 16> b{};

    static constexpr uuid from_fields(uint32_t time_low, uint16_t time_mid,
                                      uint16_t time_hi_and_version,
                                      std::array<uint8_t, 8> clock_seq_and_node) {
        uuid u;
        for (int i = 0; i < 4; ++i) {
            u.b[i] = uint8_t(time_low >> (8 * i));
        }
        u.b[4] = uint8_t(time_mid);
        u.b[5] = uint8_t(time_mid >> 8);
        u.b[6] = uint8_t(time_hi_and_version);
        u.b[7] = uint8_t(time_hi_and_version >> 8);
        for (int i = 0; i < 8; ++i) {
            u.b[8 + i] = clock_seq_and_node[i];
        }
        return u;
    }
    bool operator==(const uuid&) const = default;
};

// p_syntax_id_t: interface or transfer syntax UUID plus version (major in the low
// 16 bits of the wire u32, minor in the high 16).
struct syntax_id {
    uuid id;
    uint16_t major = 0;
    uint16_t minor = 0;
    bool operator==(const syntax_id&) const = default;
};

// NDR 2.0 (C706 appendix I) and NDR64 (MS-RPCE 2.2.5.1).
constexpr syntax_id ndr20_syntax{
    uuid::from_fields(0x8a885d04, 0x1ceb, 0x11c9, {0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60}),
    2, 0};
constexpr syntax_id ndr64_syntax{
    uuid::from_fields(0x71710533, 0xbeba, 0x4937, {0x83, 0x19, 0xb5, 0xdb, 0xef, 0x9c, 0xcc, 0x36}),
    1, 0};
// MS-RPCE 2.2.2.14: 6cb71c2c-9812-4540-xxxx-xxxxxxxxxxxx v1.0, the last 8 octets
// carrying the feature bitmask. Returns the bitmask when `s` is such a syntax.
std::optional<uint64_t> bind_time_features(const syntax_id& s);
syntax_id bind_time_feature_syntax(uint64_t features);

struct header {
    uint8_t rpc_vers = 5;
    uint8_t rpc_vers_minor = 0;
    ptype type = ptype::request;
    uint8_t pfc_flags = 0;
    std::array<uint8_t, 4> drep{0x10, 0, 0, 0};
    uint16_t frag_length = 0;
    uint16_t auth_length = 0;
    uint32_t call_id = 0;

    // C706 14.1: integer little-endian, ASCII characters, IEEE floats.
    bool little_endian() const { return (drep[0] & 0xF0) == 0x10; }
    bool supported_drep() const { return drep[0] == 0x10 && drep[1] == 0; }
};

// The first 16 bytes of a PDU (nullopt when fewer). Fields are read little-endian;
// the caller checks little_endian() before trusting frag_length.
std::optional<header> parse_header(byte_span pdu);

struct context_elem {
    uint16_t context_id = 0;
    syntax_id abstract;
    std::vector<syntax_id> transfers;
};

// bind and alter_context (C706 12.6.4.3 / 12.6.4.1).
struct bind_pdu {
    header hdr;
    uint16_t max_xmit_frag = 0;
    uint16_t max_recv_frag = 0;
    uint32_t assoc_group_id = 0;
    std::vector<context_elem> contexts;
};
std::optional<bind_pdu> parse_bind(byte_span pdu);
bytes build_bind(const bind_pdu& b); // client side: tests and fuzz seeds

struct context_result {
    uint16_t result = 0;
    uint16_t reason = 0;
    syntax_id transfer;
};

// bind_ack and alter_context_resp (C706 12.6.4.4 / 12.6.4.2).
struct bind_ack_pdu {
    header hdr;
    uint16_t max_xmit_frag = 0;
    uint16_t max_recv_frag = 0;
    uint32_t assoc_group_id = 0;
    std::string sec_addr; // without the NUL; sent with it unless empty
    std::vector<context_result> results;
};
bytes build_bind_ack(const bind_ack_pdu& a);
std::optional<bind_ack_pdu> parse_bind_ack(byte_span pdu);

// bind_nak (C706 12.6.4.5): reason and the one protocol version we speak (5.0).
bytes build_bind_nak(uint32_t call_id, uint16_t reason);

struct request_pdu {
    header hdr;
    uint32_t alloc_hint = 0;
    uint16_t context_id = 0;
    uint16_t opnum = 0;
    std::optional<uuid> object;
    byte_span stub; // points into the parsed buffer
};
std::optional<request_pdu> parse_request(byte_span pdu);
bytes build_request(uint32_t call_id, uint8_t pfc_flags, uint16_t context_id, uint16_t opnum,
                    byte_span stub, uint32_t alloc_hint);

struct response_pdu {
    header hdr;
    uint32_t alloc_hint = 0;
    uint16_t context_id = 0;
    uint8_t cancel_count = 0;
    byte_span stub;
};
std::optional<response_pdu> parse_response(byte_span pdu);
// The response to one call split into fragments of at most max_frag bytes each
// (C706 12.6.3.5); every fragment but the last carries a multiple of 8 stub bytes.
std::vector<bytes> build_response(uint32_t call_id, uint16_t context_id, byte_span stub,
                                  uint16_t max_frag);

struct fault_pdu {
    header hdr;
    uint16_t context_id = 0;
    uint32_t status = 0;
};
std::optional<fault_pdu> parse_fault(byte_span pdu);
bytes build_fault(uint32_t call_id, uint16_t context_id, uint32_t status, bool did_not_execute);

// An RPC interface served on a pipe.
struct call_result {
    uint32_t fault_status = 0; // non-zero: answer with a fault PDU instead of `stub`
    bytes stub;
};

class rpc_interface {
public:
    virtual ~rpc_interface() = default;
    virtual syntax_id abstract_syntax() const = 0;
    // The bind_ack secondary address (C706 12.6.4.4), e.g. "\\PIPE\\srvsvc".
    virtual std::string_view secondary_address() const = 0;
    // `stub` is NDR 2.0 request data; the result holds NDR 2.0 response data.
    virtual call_result call(uint16_t opnum, byte_span stub) = 0;
};

// The server side of one association over one pipe. Not thread-safe; the pipe that
// owns it serializes calls.
class connection {
public:
    explicit connection(std::unique_ptr<rpc_interface> iface);

    // One complete PDU (exactly its frag_length bytes, little-endian drep). Response
    // PDUs are appended to `out`.
    void handle_pdu(byte_span pdu, std::vector<bytes>& out);
    // A PDU whose header cannot even be framed (big-endian integers, frag_length too
    // small): answers a bind with a bind_nak where that is possible, then breaks.
    void reject_unframeable(const header& hdr, std::vector<bytes>& out);

    // After a protocol error the association is unusable (the pipe disconnects).
    bool broken() const { return _broken; }
    uint16_t max_xmit_frag() const { return _max_xmit_frag; }
    uint32_t assoc_group_id() const { return _assoc_group_id; }

private:
    struct pending_request {
        uint32_t call_id = 0;
        uint16_t context_id = 0;
        uint16_t opnum = 0;
        bytes stub;
    };

    void handle_bind(byte_span pdu, const header& hdr, std::vector<bytes>& out);
    void handle_alter_context(byte_span pdu, const header& hdr, std::vector<bytes>& out);
    void handle_request(byte_span pdu, const header& hdr, std::vector<bytes>& out);
    // Negotiates each presentation context (C706 12.6.4.3, MS-RPCE 3.3.1.5.3). False
    // when the whole PDU must be refused (bind_nak, or a fault for alter_context).
    bool negotiate(const bind_pdu& b, std::vector<context_result>& results);
    void execute(uint32_t call_id, uint16_t context_id, uint16_t opnum, byte_span stub,
                 std::vector<bytes>& out);
    void fail(uint32_t call_id, uint32_t status, std::vector<bytes>& out);

    std::unique_ptr<rpc_interface> _iface;
    std::vector<uint16_t> _contexts; // presentation context ids bound to _iface
    std::optional<pending_request> _pending;
    bool _bound = false;
    bool _broken = false;
    uint16_t _max_xmit_frag = max_frag_size;
    uint16_t _max_recv_frag = max_frag_size;
    uint32_t _assoc_group_id = 0;
};

} // namespace smbx::dcerpc
