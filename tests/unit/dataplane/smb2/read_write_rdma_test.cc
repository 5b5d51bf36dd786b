// SMB2 READ and WRITE with an RDMA channel (MS-SMB2 2.2.19, 2.2.21, 3.3.5.12, 3.3.5.13):
// the descriptor list is checked against the message and the request, the data moves
// through the connection's RDMA operations (here a fake standing for the client's
// registered memory), and a TCP connection gets STATUS_INVALID_PARAMETER.
#include <filesystem>
#include <map>

#include "../vfs/smb2_harness.hh"
#include "dataplane/runtime/data_path_counters.hh"
#include "dataplane/runtime/transport.hh"
#include "dataplane/smb2/dispatch.hh"
#include "dataplane/vfs/access.hh"

namespace smbx::vfs {
namespace {

using namespace smbx::vfs::testing;

constexpr uint32_t rw = file_generic_read | file_generic_write;
constexpr uint32_t channel_rdma_v1 = 1;
constexpr uint32_t channel_rdma_v1_invalidate = 2;
constexpr uint16_t channel_info_offset = smb2::header_size + 48;

// The client's memory regions by token (rkey); offsets are relative to each region:
// a connection with the transport's optional RDMA operations.
class fake_client_memory final : public transport_connection {
public:
    void send(out_message) override {}
    void close() override {}
    const std::string& peer_address() const override { return peer; }
    std::string peer = "rdma-test";

    std::map<uint32_t, bytes> regions;
    std::vector<uint32_t> invalidated;
    int transfers = 0;
    bool fail = false;
    uint32_t max_size = 1 << 20;

    bool supports_rdma_channel() const override { return true; }
    bool rdma_read(std::vector<buffer_descriptor_v1> remote, pool_buffer& into) override {
        ++transfers;
        size_t at = 0;
        for (const auto& d : remote) {
            const bytes& r = regions.at(d.token);
            EXPECT_LE(d.offset + d.length, r.size());
            std::copy_n(r.begin() + long(d.offset), d.length, into.data() + at);
            at += d.length;
        }
        EXPECT_EQ(at, into.size()) << "the whole buffer is filled";
        return !fail;
    }
    bool rdma_write(std::vector<buffer_descriptor_v1> remote, pool_buffer& from) override {
        ++transfers;
        size_t at = 0;
        for (const auto& d : remote) {
            bytes& r = regions.at(d.token);
            size_t n = std::min<size_t>(d.length, from.size() - at);
            std::copy_n(from.data() + at, n, r.begin() + long(d.offset));
            at += n;
        }
        EXPECT_EQ(at, from.size()) << "every byte read lands in the client's buffers";
        return !fail;
    }
    void rdma_invalidate_with_next_reply(uint32_t token) override {
        invalidated.push_back(token);
    }
    uint32_t rdma_max_read_write_size() const override { return max_size; }
};

bytes descriptors(std::initializer_list<buffer_descriptor_v1> list) {
    byte_writer w;
    write_buffer_descriptors(w, std::vector<buffer_descriptor_v1>(list));
    return w.take();
}

class rdma_read_write : public smb2_fixture {
protected:
    void SetUp() override {
        smb2_fixture::SetUp();
        memory = std::make_shared<fake_client_memory>();
        conn->rdma = memory;
    }

    // READ (2.2.19) with the channel info right after the fixed part, or where told.
    static bytes rdma_read_body(file_id id, uint64_t offset, uint32_t length, uint32_t channel,
                                const bytes& info, uint16_t info_offset = channel_info_offset,
                                int info_length = -1) {
        byte_writer w;
        w.u16(49);
        w.u8(0);
        w.u8(0);
        w.u32(length);
        w.u64(offset);
        put_id(w, id);
        w.u32(0); // MinimumCount
        w.u32(channel);
        w.u32(0); // RemainingBytes
        w.u16(info_offset);
        w.u16(uint16_t(info_length < 0 ? info.size() : size_t(info_length)));
        w.put(info);
        return w.take();
    }
    // WRITE (2.2.21): Length 0, the data's size in RemainingBytes.
    static bytes rdma_write_body(file_id id, uint64_t offset, uint32_t remaining, uint32_t channel,
                                 const bytes& info, uint32_t length = 0) {
        byte_writer w;
        w.u16(49);
        w.u16(0); // DataOffset
        w.u32(length);
        w.u64(offset);
        put_id(w, id);
        w.u32(channel);
        w.u32(remaining);
        w.u16(channel_info_offset);
        w.u16(uint16_t(info.size()));
        w.u32(0); // Flags
        w.put(info);
        return w.take();
    }
    static bytes pattern(size_t n, uint8_t seed) {
        bytes b(n);
        for (size_t i = 0; i < n; ++i) {
            b[i] = uint8_t(seed + i * 7 + i / 251);
        }
        return b;
    }

    std::shared_ptr<fake_client_memory> memory;
};

TEST_F(rdma_read_write, write_by_rdma_read_then_read_by_rdma_write_across_two_buffers) {
    auto id = open("r.bin", rw, 2 /*CREATE*/);
    const bytes data = pattern(100000, 3);
    // The client's source: two regions, the data split 60000 / 40000 at offsets 16 / 0.
    memory->regions[0x11] = bytes(16);
    memory->regions[0x11].insert(memory->regions[0x11].end(), data.begin(), data.begin() + 60000);
    memory->regions[0x22] = bytes(data.begin() + 60000, data.end());
    auto w = call(smb2::handle_write,
                  rdma_write_body(id, 0, 100000, channel_rdma_v1,
                                  descriptors({{16, 0x11, 60000}, {0, 0x22, 40000}})));
    ASSERT_EQ(w.status, status::success);
    EXPECT_EQ(w.u32(4), 100000u) << "Count";
    EXPECT_EQ(memory->transfers, 1);
    EXPECT_TRUE(memory->invalidated.empty()) << "RDMA_V1 asks for no invalidation";

    // Read 70000 bytes from 1000 into two client buffers of 50000 and 50000: the second
    // one gets only 20000.
    memory->regions[0x33] = bytes(50000);
    memory->regions[0x44] = bytes(50000, 0xee);
    auto r =
        call(smb2::handle_read, rdma_read_body(id, 1000, 70000, channel_rdma_v1_invalidate,
                                               descriptors({{0, 0x33, 50000}, {0, 0x44, 50000}})));
    ASSERT_EQ(r.status, status::success);
    EXPECT_EQ(r.u32(4), 0u) << "DataLength: no data in the message";
    EXPECT_EQ(r.u32(8), 70000u) << "DataRemaining: the bytes written by RDMA";
    EXPECT_EQ(r.body.size(), 16u);
    bytes got = memory->regions[0x33];
    got.insert(got.end(), memory->regions[0x44].begin(), memory->regions[0x44].begin() + 20000);
    EXPECT_EQ(got, bytes(data.begin() + 1000, data.begin() + 71000));
    EXPECT_EQ(memory->regions[0x44][20000], 0xee) << "nothing beyond the request's length";
    EXPECT_EQ(memory->invalidated, std::vector<uint32_t>{0x33});
}

TEST_F(rdma_read_write, tcp_connection_gets_invalid_parameter) {
    auto id = open("t.bin", rw, 2);
    conn->rdma = nullptr;
    memory->regions[1] = bytes(4096);
    auto list = descriptors({{0, 1, 4096}});
    EXPECT_EQ(call(smb2::handle_read, rdma_read_body(id, 0, 4096, channel_rdma_v1, list)).status,
              status::invalid_parameter);
    EXPECT_EQ(call(smb2::handle_write, rdma_write_body(id, 0, 4096, channel_rdma_v1, list)).status,
              status::invalid_parameter);
    EXPECT_EQ(memory->transfers, 0);
}

TEST_F(rdma_read_write, descriptor_list_bounds_are_checked) {
    auto id = open("b.bin", rw, 2);
    ASSERT_EQ(call(smb2::handle_write, write_body(id, 0, std::string(8192, 'q'))).status,
              status::success);
    memory->regions[1] = bytes(8192);
    auto one = descriptors({{0, 1, 4096}});
    auto read_status = [&](const bytes& body) { return call(smb2::handle_read, body).status; };
    EXPECT_EQ(read_status(rdma_read_body(id, 0, 4096, channel_rdma_v1, one)), status::success);
    // Not a multiple of 16 bytes, or empty.
    bytes ragged = one;
    ragged.push_back(0);
    EXPECT_EQ(read_status(rdma_read_body(id, 0, 4096, channel_rdma_v1, ragged)),
              status::invalid_parameter);
    EXPECT_EQ(read_status(rdma_read_body(id, 0, 4096, channel_rdma_v1, {})),
              status::invalid_parameter);
    // The list claims more bytes than the message has, or starts inside the fixed part.
    EXPECT_EQ(
        read_status(rdma_read_body(id, 0, 4096, channel_rdma_v1, one, channel_info_offset, 32)),
        status::invalid_parameter);
    EXPECT_EQ(
        read_status(rdma_read_body(id, 0, 4096, channel_rdma_v1, one, channel_info_offset - 8)),
        status::invalid_parameter);
    // Buffers smaller than the request, a zero-length request, over MaxReadWriteSize.
    EXPECT_EQ(read_status(rdma_read_body(id, 0, 4097, channel_rdma_v1, one)),
              status::invalid_parameter);
    EXPECT_EQ(read_status(rdma_read_body(id, 0, 0, channel_rdma_v1, one)),
              status::invalid_parameter);
    memory->max_size = 2048;
    EXPECT_EQ(read_status(rdma_read_body(id, 0, 4096, channel_rdma_v1, one)),
              status::invalid_parameter);
    memory->max_size = 1 << 20;
    // An unknown channel, and V1_INVALIDATE below SMB 3.0.2.
    EXPECT_EQ(read_status(rdma_read_body(id, 0, 4096, 3, one)), status::invalid_parameter);
    conn->dialect = smb2::dialect_300;
    EXPECT_EQ(read_status(rdma_read_body(id, 0, 4096, channel_rdma_v1_invalidate, one)),
              status::invalid_parameter);
    EXPECT_EQ(memory->transfers, 1) << "only the valid request moved data";

    // WRITE: Length must be 0 with an RDMA channel; RemainingBytes within the buffers.
    conn->dialect = smb2::dialect_311;
    EXPECT_EQ(
        call(smb2::handle_write, rdma_write_body(id, 0, 4096, channel_rdma_v1, one, 10)).status,
        status::invalid_parameter);
    EXPECT_EQ(call(smb2::handle_write, rdma_write_body(id, 0, 4097, channel_rdma_v1, one)).status,
              status::invalid_parameter);
    EXPECT_EQ(memory->transfers, 1);
}

TEST_F(rdma_read_write, failed_transfer_and_error_replies) {
    auto id = open("f.bin", rw, 2);
    memory->regions[9] = bytes(4096, 1);
    auto one = descriptors({{0, 9, 4096}});
    memory->fail = true;
    EXPECT_EQ(call(smb2::handle_write, rdma_write_body(id, 0, 4096, channel_rdma_v1, one)).status,
              0xC000020Cu)
        << "STATUS_CONNECTION_DISCONNECTED";
    EXPECT_EQ(std::filesystem::file_size(share.path("f.bin")), 0u)
        << "nothing written from a failed RDMA READ";
    memory->fail = false;
    // Past end of file: no transfer, but V1_INVALIDATE still invalidates the token.
    EXPECT_EQ(call(smb2::handle_read, rdma_read_body(id, 0, 4096, channel_rdma_v1_invalidate, one))
                  .status,
              status::end_of_file);
    EXPECT_EQ(memory->invalidated, std::vector<uint32_t>{9});
}

TEST_F(rdma_read_write, rdma_reads_are_not_taken_by_the_worker) {
    auto id = open("w.bin", rw, 2);
    ASSERT_EQ(call(smb2::handle_write, write_body(id, 0, std::string(4096, 'w'))).status,
              status::success);
    smb2::header h;
    h.cmd = smb2::command::read;
    h.session_id = 7;
    h.tree_id = 3;
    byte_writer w;
    smb2::write_header(w, h);
    w.put(rdma_read_body(id, 0, 4096, channel_rdma_v1, descriptors({{0, 1, 4096}})));
    uint64_t reads = counters::total(&counters::data_path::smb2_read_file_reads);
    EXPECT_FALSE(smb2::plan_message(*conn, w.take()).on_worker);
    EXPECT_EQ(counters::total(&counters::data_path::smb2_read_file_reads), reads)
        << "placing reads nothing";
}

} // namespace
} // namespace smbx::vfs
