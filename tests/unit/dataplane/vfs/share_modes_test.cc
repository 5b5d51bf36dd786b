#include "dataplane/vfs/share_modes.hh"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "common/ntstatus.hh"
#include "dataplane/vfs/access.hh"

namespace smbx::vfs {
namespace {

TEST(share_modes, conflict_matrix) {
    // Readers sharing read coexist; a writer needs everyone to share write.
    EXPECT_FALSE(share_conflict(file_read_data, file_share_read, file_read_data, file_share_read));
    EXPECT_TRUE(share_conflict(file_read_data, file_share_read, file_write_data, file_share_read));
    EXPECT_TRUE(share_conflict(file_write_data, file_share_write, file_read_data, file_share_read));
    EXPECT_FALSE(share_conflict(file_write_data, file_share_read | file_share_write, file_read_data,
                                file_share_write));
    EXPECT_TRUE(share_conflict(delete_access, file_share_read, file_read_data, file_share_read));
    EXPECT_TRUE(share_conflict(file_read_data, file_share_read, delete_access, file_share_valid));
    // Attribute-only opens never conflict.
    EXPECT_FALSE(share_conflict(file_read_attributes, 0, file_write_data, 0));
    EXPECT_FALSE(share_conflict(file_write_data, 0, file_read_attributes | synchronize, 0));
}

TEST(share_modes, table_add_remove_delete_pending) {
    auto& t = share_mode_table::global();
    file_key key{0xFFFF0001, 42, {}};
    int a = 0, b = 0;
    auto ra = t.add(key, &a, file_read_data, file_share_read, "/s", "x");
    ASSERT_EQ(ra.status, status::success);
    EXPECT_EQ(t.add(key, &b, file_write_data, file_share_valid, "/s", "x").status,
              status::sharing_violation);
    auto rb = t.add(key, &b, file_read_data, file_share_read | file_share_delete, "/s", "x");
    ASSERT_EQ(rb.status, status::success);
    EXPECT_EQ(ra.state.get(), rb.state.get());
    EXPECT_EQ(t.open_count(key), 2u);
    t.set_delete_on_close(*ra.state, &a, true);
    EXPECT_TRUE(t.delete_pending(*ra.state));
    auto removed_a = t.remove(*ra.state, &a);
    EXPECT_FALSE(removed_a.delete_file); // b is still open
    int c = 0;
    EXPECT_EQ(t.add(key, &c, file_read_attributes, 0, "/s", "x").status, status::delete_pending);
    auto removed_b = t.remove(*rb.state, &b);
    EXPECT_TRUE(removed_b.delete_file);
    EXPECT_EQ(removed_b.relative, "x");
    EXPECT_EQ(t.open_count(key), 0u);
}

TEST(share_modes, opens_under_directory) {
    auto& t = share_mode_table::global();
    int o = 0;
    auto r = t.add({0xFFFF0002, 1, {}}, &o, file_read_data, file_share_valid, "/s", "dir/sub/f");
    ASSERT_EQ(r.status, status::success);
    EXPECT_TRUE(t.has_opens_under("/s", "dir"));
    EXPECT_TRUE(t.has_opens_under("/s", "dir/sub"));
    EXPECT_FALSE(t.has_opens_under("/s", "di"));
    EXPECT_FALSE(t.has_opens_under("/other", "dir"));
    t.renamed(*r.state, "elsewhere/f");
    EXPECT_FALSE(t.has_opens_under("/s", "dir"));
    t.remove(*r.state, &o);
}

TEST(share_modes, concurrent_adds_respect_exclusivity) {
    auto& t = share_mode_table::global();
    file_key key{0xFFFF0003, 7, {}};
    std::vector<int> owners(16);
    std::vector<std::thread> threads;
    std::atomic<int> granted{0};
    std::vector<std::shared_ptr<file_state>> states(16);
    for (int i = 0; i < 16; ++i) {
        threads.emplace_back([&, i] {
            auto r = t.add(key, &owners[i], file_write_data, 0, "/s", "f");
            if (r.status == status::success) {
                ++granted;
                states[i] = r.state;
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(granted.load(), 1);
    for (int i = 0; i < 16; ++i) {
        if (states[i]) {
            t.remove(*states[i], &owners[i]);
        }
    }
}

TEST(byte_range_locks, semantics) {
    byte_range_locks l;
    int a = 0, b = 0;
    EXPECT_EQ(l.lock(&a, 0, 10, false), status::success);
    EXPECT_EQ(l.lock(&b, 5, 10, false), status::success); // shared + shared
    EXPECT_EQ(l.lock(&b, 5, 1, true), status::lock_not_granted);
    EXPECT_EQ(l.check_io(&a, 0, 10, false), status::success);
    EXPECT_EQ(l.check_io(&a, 0, 10, true), status::file_lock_conflict); // shared blocks writes
    EXPECT_EQ(l.check_io(&a, 20, 10, true), status::success);
    EXPECT_EQ(l.unlock(&a, 0, 9), status::range_not_locked);
    EXPECT_EQ(l.unlock(&a, 0, 10), status::success);
    EXPECT_EQ(l.unlock(&a, 0, 10), status::range_not_locked);
    EXPECT_EQ(l.lock(&a, 100, 0, true), status::success); // zero-length: no conflicts
    EXPECT_EQ(l.lock(&b, 100, 0, true), status::success);
    EXPECT_EQ(l.lock(&a, ~0ULL - 1, 2, true), status::success); // up to 2^64
    EXPECT_EQ(l.lock(&b, ~0ULL, 1, false), status::lock_not_granted);
    l.release_all(&b);
    l.release_all(&a);
    EXPECT_EQ(l.count(), 0u);
    EXPECT_EQ(l.lock(&b, 0, 100, true), status::success);
    EXPECT_EQ(l.check_io(&a, 50, 1, false), status::file_lock_conflict);
    EXPECT_EQ(l.check_io(&b, 50, 1, true), status::success);
}

} // namespace
} // namespace smbx::vfs
