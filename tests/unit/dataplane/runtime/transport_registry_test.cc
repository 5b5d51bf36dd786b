// The transport registry: backends are created from the data-plane settings, listen and
// start on the workers; an unknown transport, or a required backend that cannot start,
// stops the data plane; an optional one (SMB Direct) that cannot is left out. And the
// product's three registrations turn on for the settings that name them.
#include "dataplane/runtime/transport_registry.hh"

#include <algorithm>
#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "dataplane/dpdk/dpdk_backend.hh"
#include "dataplane/tcp/tcp_backend.hh"
#include "rdma/smbd_backend.hh"

using namespace smbx;

namespace {

// What the fake backends did, in order: "<name>.create", ".listen", ".start", ".stop".
std::vector<std::string> g_calls;
// Names whose create() returns nullptr, and whose listen() fails.
std::vector<std::string> g_create_fails, g_listen_fails;

bool listed(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

struct no_events final : transport_events {
    void on_connect(const std::shared_ptr<transport_connection>&) override {}
    void on_message(const std::shared_ptr<transport_connection>&, pool_buffer) override {}
    void on_disconnect(const std::shared_ptr<transport_connection>&) override {}
};

class fake_backend final : public transport_backend {
public:
    fake_backend(std::string name, const backend_context& c) : _name(std::move(name)), _c(c) {}
    const char* name() const override { return _name.c_str(); }
    bool listen() override {
        g_calls.push_back(_name + ".listen");
        return !listed(g_listen_fails, _name);
    }
    void start() override {
        g_calls.push_back(_name + ".start/" + std::to_string(_c.workers.size()));
    }
    void stop() override { g_calls.push_back(_name + ".stop"); }
    std::vector<uint32_t> listening_addresses() const override { return {}; }

private:
    std::string _name;
    backend_context _c;
};

template <const char* Name> std::unique_ptr<transport_backend> create(const backend_context& c) {
    g_calls.push_back(std::string(Name) + ".create");
    if (listed(g_create_fails, Name)) {
        return nullptr;
    }
    return std::make_unique<fake_backend>(Name, c);
}

constexpr char tcp_name[] = "tcp", dpdk_name[] = "dpdk", rdma_name[] = "smbdirect";

const transport_registration fake_tcp = {
    tcp_name, [](const dataplane_settings& s) { return s.transport == transport_kind::tcp; },
    true, create<tcp_name>};
const transport_registration fake_dpdk = {
    dpdk_name, [](const dataplane_settings& s) { return s.transport == transport_kind::dpdk; },
    true, create<dpdk_name>};
const transport_registration fake_rdma = {
    rdma_name, [](const dataplane_settings& s) { return s.rdma_address_count > 0; }, false,
    create<rdma_name>};

struct transport_registry_test : ::testing::Test {
    transport_registry registry;
    dataplane_settings settings;
    buffer_pool pool{1 << 20};
    worker w0{0, -1, idle_policy::adaptive}, w1{1, -1, idle_policy::adaptive};

    no_events events;

    void SetUp() override {
        g_calls.clear();
        g_create_fails.clear();
        g_listen_fails.clear();
        ASSERT_TRUE(registry.add(fake_tcp));
        ASSERT_TRUE(registry.add(fake_dpdk));
        ASSERT_TRUE(registry.add(fake_rdma));
    }
    transport_registry::started start() {
        return registry.start({settings, events, {&w0, &w1}, pool});
    }
};

} // namespace

TEST_F(transport_registry_test, a_name_is_registered_once_and_found) {
    EXPECT_FALSE(registry.add(fake_tcp)) << "tcp is taken";
    transport_registration incomplete = fake_tcp;
    incomplete.name = "other";
    incomplete.create = nullptr;
    EXPECT_FALSE(registry.add(incomplete));
    ASSERT_NE(registry.find("dpdk"), nullptr);
    EXPECT_EQ(registry.find("dpdk")->create, fake_dpdk.create);
    EXPECT_EQ(registry.find("nfs"), nullptr);
    EXPECT_EQ(registry.all().size(), 3u);
}

TEST_F(transport_registry_test, the_settings_choose_the_backends_each_listens_then_starts) {
    settings.transport = transport_kind::tcp;
    settings.rdma_address_count = 1;
    auto s = start();
    ASSERT_TRUE(s.ok()) << s.error;
    ASSERT_EQ(s.backends.size(), 2u);
    EXPECT_STREQ(s.backends[0]->name(), "tcp");
    EXPECT_STREQ(s.backends[1]->name(), "smbdirect");
    // Every backend listens before any starts on the (two) workers: a failed listen
    // must not leave another backend's pollers on the workers.
    EXPECT_EQ(g_calls, (std::vector<std::string>{"tcp.create", "tcp.listen", "smbdirect.create",
                                                 "smbdirect.listen", "tcp.start/2",
                                                 "smbdirect.start/2"}));
}

TEST_F(transport_registry_test, dpdk_instead_of_tcp_and_smb_direct_only_when_configured) {
    settings.transport = transport_kind::dpdk;
    settings.rdma_address_count = 0;
    auto s = start();
    ASSERT_TRUE(s.ok()) << s.error;
    ASSERT_EQ(s.backends.size(), 1u);
    EXPECT_STREQ(s.backends[0]->name(), "dpdk");
    EXPECT_FALSE(listed(g_calls, "tcp.create"));
    EXPECT_FALSE(listed(g_calls, "smbdirect.create")) << "a backend the settings leave off";
}

TEST_F(transport_registry_test, an_unknown_transport_is_an_error) {
    settings.transport = transport_kind(7); // e.g. a newer control plane's
    settings.rdma_address_count = 1;
    auto s = start();
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.error.find("transport 7"), std::string::npos) << s.error;
    EXPECT_TRUE(s.backends.empty());
    // SMB Direct alone does not serve: it was made, then stopped, never started.
    EXPECT_EQ(g_calls, (std::vector<std::string>{"smbdirect.create", "smbdirect.listen",
                                                 "smbdirect.stop"}));
}

TEST_F(transport_registry_test, an_optional_backend_that_cannot_start_is_left_out) {
    settings.transport = transport_kind::tcp;
    settings.rdma_address_count = 1;
    g_listen_fails = {"smbdirect"};
    auto s = start();
    ASSERT_TRUE(s.ok()) << s.error;
    ASSERT_EQ(s.backends.size(), 1u);
    EXPECT_STREQ(s.backends[0]->name(), "tcp");
    EXPECT_TRUE(listed(g_calls, "smbdirect.stop")) << "what its listen opened is closed";
    EXPECT_FALSE(listed(g_calls, "smbdirect.start/2"));

    g_calls.clear();
    g_listen_fails.clear();
    g_create_fails = {"smbdirect"}; // no RDMA device
    auto again = start();
    ASSERT_TRUE(again.ok()) << again.error;
    EXPECT_EQ(again.backends.size(), 1u);
}

TEST_F(transport_registry_test, a_required_backend_that_cannot_start_stops_the_others) {
    settings.transport = transport_kind::tcp;
    g_listen_fails = {"tcp"};
    auto s = start();
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.error.find("tcp"), std::string::npos) << s.error;
    EXPECT_TRUE(s.backends.empty());
    EXPECT_FALSE(listed(g_calls, "tcp.start/2"));

    g_calls.clear();
    g_listen_fails.clear();
    g_create_fails = {"dpdk"};
    settings.transport = transport_kind::dpdk;
    settings.rdma_address_count = 0;
    EXPECT_FALSE(start().ok()) << "dpdk named but its port cannot open";
}

TEST(transport_registrations, the_products_backends_turn_on_for_their_settings) {
    transport_registry r;
    ASSERT_TRUE(r.add(tcp_transport_registration));
    ASSERT_TRUE(r.add(dpdk::dpdk_transport_registration));
    ASSERT_TRUE(r.add(rdma::smbd_transport_registration));
    const auto* tcp = r.find("tcp");
    const auto* dpdk = r.find("dpdk");
    const auto* rdma = r.find("smbdirect");
    ASSERT_TRUE(tcp && dpdk && rdma);
    EXPECT_TRUE(tcp->required);
    EXPECT_TRUE(dpdk->required);
    EXPECT_FALSE(rdma->required) << "SMB Direct is served beside TCP, when it can be";

    dataplane_settings s;
    s.transport = transport_kind::tcp;
    EXPECT_TRUE(tcp->wanted(s));
    EXPECT_FALSE(dpdk->wanted(s));
    EXPECT_FALSE(rdma->wanted(s)) << "no rdma addresses";
    s.rdma_address_count = 1;
    EXPECT_FALSE(rdma->wanted(s)) << "addresses but no ports";
    s.rdma_port_count = 1;
    EXPECT_TRUE(rdma->wanted(s));
    s.transport = transport_kind::dpdk;
    EXPECT_FALSE(tcp->wanted(s));
    EXPECT_TRUE(dpdk->wanted(s));
}

TEST(transport_registrations, tcp_without_handed_over_sockets_does_not_listen) {
    dataplane_settings s;
    s.listen_fd_count = 0;
    buffer_pool pool(1 << 20);
    worker w(0, -1, idle_policy::adaptive);
    no_events events;
    auto b = tcp_transport_registration.create({s, events, {&w}, pool});
    ASSERT_NE(b, nullptr);
    EXPECT_STREQ(b->name(), "tcp");
    EXPECT_FALSE(b->listen());
    b->stop();
}
