#include "common/control_channel.hh"

#include <cstring>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

using smbx::bytes;
using smbx::control_channel;

TEST(control_channel, create_formats_segment) {
    control_channel ch;
    ASSERT_TRUE(ch.create());
    EXPECT_GE(ch.fd(), 0);
    EXPECT_EQ(ch.layout().magic, smbx::control_channel_layout::magic_value);
    EXPECT_EQ(ch.layout().settings.min_dialect, 0x0202);
    EXPECT_TRUE(ch.to_control().empty());
    EXPECT_TRUE(ch.to_dataplane().empty());
    EXPECT_GE(ch.to_control().max_message(), 16000u);
    close(ch.fd());
}

TEST(control_channel, second_mapping_shares_settings_and_rings) {
    control_channel ctl;
    ASSERT_TRUE(ctl.create());
    ctl.layout().settings.workers = 7;
    std::strcpy(ctl.layout().settings.netbios_name, "SRV");

    // The data plane maps the same memfd through another descriptor, as after exec.
    int dup_fd = dup(ctl.fd());
    control_channel dp;
    ASSERT_TRUE(dp.attach(dup_fd));
    EXPECT_EQ(dp.layout().settings.workers, 7u);
    EXPECT_STREQ(dp.layout().settings.netbios_name, "SRV");
    EXPECT_NE(&dp.layout(), &ctl.layout()); // really a separate mapping

    bytes up{1, 2, 3};
    bytes down{4, 5};
    ASSERT_TRUE(dp.to_control().push(up));
    ASSERT_TRUE(ctl.to_dataplane().push(down));
    EXPECT_EQ(ctl.to_control().pop(), up);
    EXPECT_EQ(dp.to_dataplane().pop(), down);
    EXPECT_TRUE(ctl.to_control().empty());

    dp.layout().dataplane_pid = 1234;
    EXPECT_EQ(ctl.layout().dataplane_pid, 1234u);
    close(dup_fd);
    close(ctl.fd());
}

TEST(control_channel, attach_rejects_bad_magic) {
    control_channel ctl;
    ASSERT_TRUE(ctl.create());
    ctl.layout().magic = 0x1234;
    control_channel other;
    EXPECT_FALSE(other.attach(ctl.fd()));
    close(ctl.fd());
}

TEST(control_channel, attach_rejects_small_or_foreign_fd) {
    int fd = memfd_create("not-a-channel", MFD_CLOEXEC);
    ASSERT_GE(fd, 0);
    control_channel ch;
    EXPECT_FALSE(ch.attach(fd)); // empty
    ASSERT_EQ(ftruncate(fd, 1 << 20), 0);
    EXPECT_FALSE(ch.attach(fd)); // zeros: no magic
    close(fd);
    EXPECT_FALSE(ch.attach(-1));
}
