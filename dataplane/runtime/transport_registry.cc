#include "dataplane/runtime/transport_registry.hh"

#include "common/log.hh"

namespace smbx {

bool transport_registry::add(const transport_registration& registration) {
    if (!registration.name || !registration.wanted || !registration.create ||
        find(registration.name)) {
        return false;
    }
    _registrations.push_back(registration);
    return true;
}

const transport_registration* transport_registry::find(std::string_view name) const {
    for (const auto& r : _registrations) {
        if (name == r.name) {
            return &r;
        }
    }
    return nullptr;
}

transport_registry::started transport_registry::start(const backend_context& context) const {
    started out;
    bool required_wanted = false;
    for (const auto& r : _registrations) {
        if (!r.wanted(context.settings)) {
            continue;
        }
        required_wanted = required_wanted || r.required;
        std::unique_ptr<transport_backend> backend = r.create(context);
        if (backend && !backend->listen()) {
            backend->stop();
            backend.reset();
        }
        if (!backend) {
            if (r.required) {
                out.error = std::string("transport ") + r.name + " cannot start";
                break;
            }
            LOG_NOTICE("transport %s cannot start; serving without it", r.name);
            continue;
        }
        out.backends.push_back(std::move(backend));
    }
    if (out.ok() && !required_wanted) {
        out.error = "the settings name a transport no backend serves (transport " +
                    std::to_string(unsigned(context.settings.transport)) + ")";
    }
    if (!out.ok()) {
        for (auto it = out.backends.rbegin(); it != out.backends.rend(); ++it) {
            (*it)->stop();
        }
        out.backends.clear();
        return out;
    }
    for (auto& b : out.backends) {
        b->start();
    }
    return out;
}

} // namespace smbx
