// The registry that routes a break to the connection holding an open: ids are unique
// and never 0, a removed id is not found, and the entry carries the strand runner.
#include "dataplane/smb2/open_registry.hh"

#include <gtest/gtest.h>

using namespace smbx;
using namespace smbx::smb2;

TEST(open_registry, ids_route_to_their_entry_until_removed) {
    open_registry r;
    int ran = 0;
    open_registry::entry e;
    e.session_id = 7;
    e.run_on_strand = [&](connection::strand_task) { ++ran; };
    uint64_t a = r.add(e);
    uint64_t b = r.add(e);
    EXPECT_NE(a, 0u);
    EXPECT_NE(a, b);
    auto found = r.find(a);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->session_id, 7u);
    found->run_on_strand(nullptr);
    EXPECT_EQ(ran, 1);
    r.remove(a);
    EXPECT_FALSE(r.find(a));
    EXPECT_TRUE(r.find(b));
    EXPECT_EQ(r.size(), 1u);
    EXPECT_GT(r.add(e), b) << "an id is never given twice";
}
