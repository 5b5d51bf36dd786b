#include "control/leases/lease_arbiter.hh"

#include <algorithm>

#include "common/ntstatus.hh"

namespace smbx::leases {

namespace {

// A lease holds one of the states 3.3.5.9.8 grants; an oplock is level II, exclusive
// or batch. What a lowering leaves that is neither becomes the nearest below it.
uint8_t normalize(bool lease, uint8_t s, bool level2 = true) {
    if (lease) {
        return caching::valid_lease_state(s) ? s : caching::none;
    }
    if (oplock_of(s) != oplock_level::none) {
        return s == caching::read && !level2 ? caching::none : s;
    }
    return (s & caching::read) && level2 ? caching::read : caching::none;
}

} // namespace

void lease_arbiter::lower(const owner_key& key, owner_state& o, uint8_t to, clock::time_point now,
                          std::vector<break_notice>& out) {
    if (o.breaking) {
        // The client was told one break already; the next waits for its answer.
        uint8_t target = o.then_to ? *o.then_to & to : o.break_to & to;
        if (target != o.break_to) {
            o.then_to = target;
        }
        return;
    }
    if (to == o.state) {
        return;
    }
    break_notice n;
    n.owner = key;
    n.via = *o.opens.begin();
    n.from = o.state;
    n.to = to;
    // Only a break from read caching alone (a lease R, a level II oplock) is not
    // acknowledged (3.3.4.7 SMB2_NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED; 3.3.4.6).
    n.ack_required = (o.state & (caching::write | caching::handle)) != 0;
    if (o.lease && o.version >= 2) {
        n.epoch = ++o.epoch;
    }
    out.push_back(n);
    if (n.ack_required) {
        o.breaking = true;
        o.break_to = to;
        o.deadline = now + _break_timeout;
    } else {
        o.state = to;
    }
}

bool lease_arbiter::waiting_on(const file_key& file, const owner_key& except) const {
    auto f = _files.find(file);
    if (f == _files.end()) {
        return false;
    }
    return std::any_of(f->second.begin(), f->second.end(), [&](const owner_key& k) {
        const owner_state& o = _owners.at(k);
        return k != except && o.breaking;
    });
}

open_decision lease_arbiter::open(const open_request& r, clock::time_point now) {
    open_decision d;
    if (r.open == 0 || _opens.count(r.open)) {
        // An open is asked about once and never has id 0 (open_registry): anything else
        // is a broken or hostile data plane, which must not make the arbiter lose track
        // (id 0 would make an oplock's owner key look like a lease's).
        d.status = status::invalid_parameter;
        return d;
    }
    owner_key self = r.lease ? *r.lease : owner_key::of_open(r.open);
    auto existing = _owners.find(self);
    if (existing != _owners.end() && existing->second.file != r.file) {
        d.status = status::invalid_parameter; // 3.3.5.9.8: the key is another file's
        return d;
    }
    bool lease = r.lease.has_value();

    // Others' caching that this open ends (MS-FSA 2.1.4.12): write caching, and read
    // caching too when the open replaces the data.
    bool others =
        lower_others(self, r.file, now, d.breaks, [&](const owner_state& o, uint8_t held) {
            uint8_t keep = r.overwrite ? held & caching::handle : held & ~caching::write;
            return normalize(o.lease, keep, r.level2_oplocks);
        });
    if (waiting_on(r.file, self) && !r.no_wait) {
        d.wait = true;
        return d;
    }

    // What this open may have: write caching only with the file to itself; a
    // directory only read and handle caching, and only by lease.
    uint8_t allowed = caching::all;
    // An oplock request that broke another owner's caching gets level II at most, as
    // Windows grants it (smbtorture smb2.oplock.exclusive5, batch13).
    if (!lease && (r.after_break || !d.breaks.empty())) {
        allowed = caching::read;
    }
    if (others) {
        allowed &= ~caching::write;
        allowed &= mixed_caching(self, r.file, lease);
    }
    if (r.directory) {
        allowed = lease ? allowed & (caching::read | caching::handle) : caching::none;
    }
    uint8_t wanted = lease ? r.requested : caching_of(r.oplock);
    uint8_t grant = normalize(lease, wanted & allowed, r.level2_oplocks);

    owner_state& o = _owners[self];
    if (o.opens.empty() && existing == _owners.end()) {
        o.file = r.file;
        o.lease = lease;
        o.version = r.lease_version;
        o.state = grant;
        // A new v2 lease answers with the client's epoch moved on (3.3.5.9.11).
        o.epoch = lease && r.lease_version >= 2 ? uint16_t(r.epoch + 1) : 0;
    } else if (o.breaking) {
        d.break_in_progress = true; // 3.3.5.9.8: the state as it is, breaking
    } else if (!others && caching::subset(o.state, grant) && grant != o.state) {
        // An upgrade only for a lease alone on the file: beside another owner it keeps
        // what it holds (smbtorture smb2.lease.break, upgrade3, as Windows).
        o.state = grant; // an upgrade; a request for less leaves the lease as it is
        if (o.lease && o.version >= 2) {
            ++o.epoch;
        }
    }
    o.opens.insert(r.open);
    _files[r.file].insert(self);
    _opens[r.open] = self;
    d.granted = o.state;
    d.epoch = o.epoch;
    d.oplock = lease ? oplock_level::lease : oplock_of(o.state);
    return d;
}

bool lease_arbiter::lower_others(const owner_key& self, const file_key& file, clock::time_point now,
                                 std::vector<break_notice>& out,
                                 const std::function<uint8_t(const owner_state&, uint8_t)>& keep) {
    auto f = _files.find(file);
    if (f == _files.end()) {
        return false;
    }
    bool others = false;
    for (const owner_key& k : f->second) {
        if (k == self) {
            continue;
        }
        others = true;
        owner_state& o = _owners.at(k);
        uint8_t held = o.breaking ? o.break_to : o.state;
        uint8_t to = keep(o, held);
        if (to != held) {
            lower(k, o, to, now, out);
        }
    }
    return others;
}

uint8_t lease_arbiter::mixed_caching(const owner_key& self, const file_key& file,
                                     bool lease) const {
    uint8_t allowed = caching::all;
    for (const owner_key& k : _files.at(file)) {
        const owner_state& o = _owners.at(k);
        uint8_t held = o.breaking ? o.break_to : o.state;
        if (k == self || held == caching::none) {
            continue;
        }
        if (!lease && o.lease && (held & caching::handle)) {
            allowed = caching::none;
        }
        if (lease && !o.lease) {
            allowed &= ~caching::handle;
        }
    }
    return allowed;
}

owner_key lease_arbiter::owner_of(open_ref open) const {
    auto it = _opens.find(open);
    return it != _opens.end() ? it->second : owner_key::of_open(open);
}

std::vector<break_notice> lease_arbiter::write(open_ref writer, const file_key& file,
                                               clock::time_point now) {
    std::vector<break_notice> out;
    owner_key self = owner_of(writer);
    lower_others(self, file, now, out, [](const owner_state& o, uint8_t held) {
        return normalize(o.lease, held & ~caching::read);
    });
    // The writer's own level II oplock breaks too (a lease is one owner with its
    // writes): Windows sends that break to the writer (smbtorture smb2.oplock.batch1).
    auto it = _owners.find(self);
    if (!self.is_lease() && it != _owners.end() && !it->second.breaking &&
        it->second.state == caching::read) {
        lower(self, it->second, caching::none, now, out);
    }
    return out;
}

bool lease_arbiter::break_handle_caching(open_ref by, const file_key& file, clock::time_point now,
                                         std::vector<break_notice>& breaks) {
    return break_handle_caching(owner_of(by), file, now, breaks);
}

bool lease_arbiter::break_handle_caching(const owner_key& self, const file_key& file,
                                         clock::time_point now, std::vector<break_notice>& breaks) {
    lower_others(self, file, now, breaks, [](const owner_state& o, uint8_t held) {
        return held & caching::handle ? normalize(o.lease, held & ~caching::handle) : held;
    });
    return waiting_on(file, self);
}

void lease_arbiter::settle(const owner_key& key, owner_state& o, uint8_t state,
                           clock::time_point now, std::vector<break_notice>& out) {
    o.state = state;
    o.breaking = false;
    o.break_to = state;
    if (auto then = o.then_to) {
        o.then_to.reset();
        lower(key, o, *then & state, now, out);
    }
}

void lease_arbiter::released_if_clear(const file_key& file, std::vector<file_key>& out) const {
    if (!waiting_on(file, owner_key{}) && std::find(out.begin(), out.end(), file) == out.end()) {
        out.push_back(file);
    }
}

ack_result lease_arbiter::acknowledge_lease(const owner_key& lease, uint8_t state,
                                            clock::time_point now) {
    ack_result r;
    auto it = _owners.find(lease);
    if (it == _owners.end() || !it->second.lease) {
        r.status = status::object_name_not_found; // 3.3.5.22.2: no such lease
        return r;
    }
    owner_state& o = it->second;
    r.state = o.state;
    if (!o.breaking) {
        r.status = status::unsuccessful;
        return r;
    }
    if (!caching::subset(state, o.break_to)) {
        r.status = status::request_not_accepted;
        return r;
    }
    settle(lease, o, state, now, r.breaks);
    r.state = o.state;
    released_if_clear(o.file, r.released);
    return r;
}

ack_result lease_arbiter::acknowledge_oplock(open_ref open, oplock_level level,
                                             clock::time_point now) {
    ack_result r;
    auto it = _opens.find(open);
    if (it == _opens.end() || it->second.is_lease()) {
        r.status = status::file_closed;
        return r;
    }
    owner_key key = it->second;
    owner_state& o = _owners.at(key);
    r.state = o.state;
    if (!o.breaking) {
        // 3.3.5.22.1 says INVALID_DEVICE_STATE; an oplock already broken to none (level
        // II to none is not acknowledged) answers as Windows does (smbtorture
        // smb2.oplock.levelii500).
        r.status = o.state == caching::none ? status::invalid_oplock_protocol
                                            : status::invalid_device_state;
        return r;
    }
    uint8_t acked = caching_of(level);
    if (level == oplock_level::lease) {
        r.status = status::invalid_parameter;
        acked = caching::none;
    } else if (!caching::subset(acked, o.break_to)) {
        r.status = status::invalid_oplock_protocol; // more than the break left it
        acked = caching::none;
    }
    settle(key, o, acked, now, r.breaks);
    r.state = o.state;
    released_if_clear(o.file, r.released);
    return r;
}

void lease_arbiter::drop_owner(const owner_key& key) {
    auto it = _owners.find(key);
    if (it == _owners.end()) {
        return;
    }
    auto f = _files.find(it->second.file);
    if (f != _files.end()) {
        f->second.erase(key);
        if (f->second.empty()) {
            _files.erase(f);
        }
    }
    _owners.erase(it);
}

std::vector<file_key> lease_arbiter::close(open_ref open) {
    std::vector<file_key> released;
    auto it = _opens.find(open);
    if (it == _opens.end()) {
        return released;
    }
    owner_key key = it->second;
    _opens.erase(it);
    owner_state& o = _owners.at(key);
    o.opens.erase(open);
    if (!o.opens.empty()) {
        return released;
    }
    file_key file = o.file;
    bool was_breaking = o.breaking;
    drop_owner(key);
    if (was_breaking) {
        released_if_clear(file, released);
    }
    return released;
}

std::vector<file_key> lease_arbiter::expire(clock::time_point now) {
    std::vector<file_key> ended;
    std::vector<break_notice> none_left; // a break to none leaves nothing to lower
    for (auto& [key, o] : _owners) {
        if (o.breaking && o.deadline <= now) {
            o.then_to.reset();
            settle(key, o, caching::none, now, none_left);
            ended.push_back(o.file);
        }
    }
    std::vector<file_key> released;
    for (const auto& f : ended) {
        released_if_clear(f, released);
    }
    return released;
}

std::optional<clock::time_point> lease_arbiter::next_deadline() const {
    std::optional<clock::time_point> next;
    for (const auto& [key, o] : _owners) {
        if (o.breaking && (!next || o.deadline < *next)) {
            next = o.deadline;
        }
    }
    return next;
}

uint8_t lease_arbiter::state_of(const owner_key& o) const {
    auto it = _owners.find(o);
    return it == _owners.end() ? caching::none : it->second.state;
}

bool lease_arbiter::breaking(const owner_key& o) const {
    auto it = _owners.find(o);
    return it != _owners.end() && it->second.breaking;
}

} // namespace smbx::leases
