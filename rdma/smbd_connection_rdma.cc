// RDMA READ / RDMA WRITE against the client's SMB_DIRECT_BUFFER_DESCRIPTOR_V1 list, for
// SMB2 WRITE and READ with SMB2_CHANNEL_RDMA_V1(_INVALIDATE) (MS-SMB2 3.3.5.12, 3.3.5.13).
#include "rdma/smbd_connection.hh"

namespace smbx::rdma {

smbd_connection::rdma_result
smbd_connection::check_rdma(std::span<const buffer_descriptor_v1> remote, size_t local_size,
                            bool exact) const {
    if (_state != state::established) {
        return rdma_result::not_connected;
    }
    if (remote.empty()) {
        return rdma_result::bad_descriptors;
    }
    for (const auto& d : remote) {
        if (d.length == 0) {
            return rdma_result::bad_descriptors;
        }
    }
    // The negotiated MaxReadWriteSize bounds one upper-layer read or write (2.2.2).
    const uint64_t total = total_length(remote);
    const uint64_t moved = exact ? total : local_size;
    if (exact ? total > local_size : local_size > total) {
        return rdma_result::too_large;
    }
    if (moved > _negotiated.max_read_write_size) {
        return rdma_result::too_large;
    }
    if (moved == 0) {
        return rdma_result::empty;
    }
    return rdma_result::started;
}

smbd_connection::rdma_result
smbd_connection::rdma_read(std::span<const buffer_descriptor_v1> remote, std::span<uint8_t> local,
                           rdma_callback done) {
    auto r = check_rdma(remote, local.size(), true);
    if (r != rdma_result::started) {
        return r;
    }
    _rdma.add(rdma_transfer_table::direction::read_from_client, remote,
              local.first(total_length(remote)), std::move(done));
    pump(false);
    return r;
}

smbd_connection::rdma_result
smbd_connection::rdma_write(std::span<const buffer_descriptor_v1> remote, byte_span local,
                            rdma_callback done) {
    auto r = check_rdma(remote, local.size(), false);
    if (r != rdma_result::started) {
        return r;
    }
    // The table hands the bytes to post_rdma_write as a const span again.
    std::span<uint8_t> bytes_out(const_cast<uint8_t*>(local.data()), local.size());
    _rdma.add(rdma_transfer_table::direction::write_to_client, remote, bytes_out, std::move(done));
    pump(false);
    return r;
}

} // namespace smbx::rdma
