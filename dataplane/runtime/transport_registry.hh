// The transport backends the data plane knows, by name (Seastar's network stack
// registry, SPDK's list of registered nvmf transports). main.cc adds each backend's
// registration, then starts whatever the settings turn on, in one loop.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/runtime/transport.hh"

namespace smbx {

class transport_registry {
public:
    // False (nothing added) when the name is taken or a function is missing.
    bool add(const transport_registration& registration);
    const transport_registration* find(std::string_view name) const;
    const std::vector<transport_registration>& all() const { return _registrations; }

    struct started {
        std::vector<std::unique_ptr<transport_backend>> backends; // in registration order
        std::string error; // empty: the data plane can serve
        bool ok() const { return error.empty(); }
    };
    // Creates the backends the settings turn on, in registration order, and has each
    // listen and start on the context's workers. An error when a required backend
    // cannot, or when the settings turn on no required backend (a `transport` no
    // backend serves): then the ones already made are stopped and none is returned.
    started start(const backend_context& context) const;

private:
    std::vector<transport_registration> _registrations;
};

} // namespace smbx
