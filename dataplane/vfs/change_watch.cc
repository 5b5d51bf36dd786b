#include "dataplane/vfs/change_watch.hh"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "common/log.hh"

namespace smbx::vfs {

namespace {

constexpr uint32_t watch_mask =
    IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB | IN_ONLYDIR;

constexpr int tick_ms = 1000;

constexpr uint32_t attribute_filters = notify_change_attributes | notify_change_last_write |
                                       notify_change_last_access | notify_change_creation |
                                       notify_change_security | notify_change_ea;

struct raw_event {
    int wd;
    uint32_t mask;
    uint32_t cookie;
    std::string name;
};

// The process's one inotify instance and the thread that reads it.
class watcher {
public:
    static watcher& get() {
        static watcher w;
        return w;
    }

    uint64_t subscribe(const std::string& dir, bool recursive, change_watch::sink s) {
        std::lock_guard lock(_mutex);
        if (!start()) {
            return 0;
        }
        uint64_t id = _next_id++;
        auto& sub = _subs[id];
        sub.recursive = recursive;
        sub.s = std::make_shared<change_watch::sink>(std::move(s));
        if (!add_dir(id, sub, dir, "")) {
            _subs.erase(id);
            return 0;
        }
        return id;
    }

    void unsubscribe(uint64_t id) {
        {
            std::lock_guard lock(_mutex);
            auto it = _subs.find(id);
            if (it != _subs.end()) {
                for (auto& [wd, rel] : it->second.dirs) {
                    release(wd, id);
                }
                _subs.erase(it);
            }
        }
        // Wait out a sink call the watcher thread may be making right now.
        std::lock_guard wait(_dispatch_mutex);
    }

    void sync(uint64_t id) {
        {
            std::lock_guard lock(_mutex);
            _syncs.push_back(id);
        }
        uint64_t one = 1;
        [[maybe_unused]] auto n = write(_wake_fd, &one, sizeof one);
    }

    ~watcher() {
        if (_thread.joinable()) {
            _stop = true;
            uint64_t one = 1;
            [[maybe_unused]] auto n = write(_wake_fd, &one, sizeof one);
            _thread.join();
        }
        if (_fd >= 0) {
            close(_fd);
        }
        if (_wake_fd >= 0) {
            close(_wake_fd);
        }
    }

private:
    struct subscription {
        bool recursive = false;
        std::shared_ptr<change_watch::sink> s;
        std::map<int, std::string> dirs; // watch descriptor -> directory relative to the root
    };

    watcher() = default;

    bool start() {
        if (_fd >= 0) {
            return true;
        }
        _fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        _wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (_fd < 0 || _wake_fd < 0) {
            LOG_WARN("inotify unavailable: %s", strerror(errno));
            return false;
        }
        _thread = std::thread([this] { run(); });
        return true;
    }

    // Watches `abs` (and, for a tree, its subdirectories) for subscription `id`.
    bool add_dir(uint64_t id, subscription& sub, const std::string& abs, const std::string& rel) {
        std::deque<std::pair<std::string, std::string>> todo{{abs, rel}};
        bool first = true;
        while (!todo.empty() && sub.dirs.size() < change_watch::max_tree_dirs) {
            auto [path, relative] = todo.front();
            todo.pop_front();
            int wd = inotify_add_watch(_fd, path.c_str(), watch_mask);
            if (wd < 0) {
                if (first) {
                    return false;
                }
                continue;
            }
            first = false;
            if (!sub.dirs.count(wd)) {
                sub.dirs[wd] = relative;
                _wds[wd][id] = relative;
                _wd_paths[wd] = path;
            }
            if (!sub.recursive) {
                break;
            }
            DIR* d = opendir(path.c_str());
            if (!d) {
                continue;
            }
            while (dirent* e = readdir(d)) {
                std::string n = e->d_name;
                if (n == "." || n == "..") {
                    continue;
                }
                bool is_dir = e->d_type == DT_DIR;
                if (e->d_type == DT_UNKNOWN) {
                    struct stat st {};
                    is_dir = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                             S_ISDIR(st.st_mode);
                }
                if (is_dir) {
                    todo.emplace_back(path + "/" + n, relative.empty() ? n : relative + "/" + n);
                }
            }
            closedir(d);
        }
        return true;
    }

    void release(int wd, uint64_t id) {
        auto it = _wds.find(wd);
        if (it == _wds.end()) {
            return;
        }
        it->second.erase(id);
        if (it->second.empty()) {
            inotify_rm_watch(_fd, wd);
            _wds.erase(it);
            _wd_paths.erase(wd);
        }
    }

    void run() {
        std::vector<char> buf(64 * 1024);
        while (!_stop) {
            pollfd fds[2] = {{_fd, POLLIN, 0}, {_wake_fd, POLLIN, 0}};
            int ready = poll(fds, 2, tick_ms);
            if (ready < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return;
            }
            if (_stop) {
                return;
            }
            if (ready == 0) {
                tick();
                continue;
            }
            std::vector<raw_event> events;
            while (true) {
                ssize_t n = read(_fd, buf.data(), buf.size());
                if (n <= 0) {
                    break;
                }
                for (ssize_t off = 0; off + ssize_t(sizeof(inotify_event)) <= n;) {
                    auto* ev = reinterpret_cast<inotify_event*>(buf.data() + off);
                    events.push_back({ev->wd, ev->mask, ev->cookie,
                                      ev->len ? std::string(ev->name) : std::string()});
                    off += sizeof(inotify_event) + ev->len;
                }
            }
            if (!events.empty()) {
                deliver(events);
            }
            if (fds[1].revents & POLLIN) {
                uint64_t n = 0;
                [[maybe_unused]] auto r = read(_wake_fd, &n, sizeof n);
                deliver_syncs();
            }
        }
    }

    // Maps a batch of inotify events to changes per subscription and hands them over.
    void deliver(const std::vector<raw_event>& events) {
        std::map<uint64_t, std::vector<change>> batches;
        std::unique_lock lock(_mutex);
        for (size_t i = 0; i < events.size(); ++i) {
            const raw_event& ev = events[i];
            if (ev.mask & IN_Q_OVERFLOW) {
                for (auto& [id, sub] : _subs) {
                    batches[id].push_back(change{});
                }
                continue;
            }
            if (ev.mask & IN_IGNORED) {
                forget(ev.wd);
                continue;
            }
            auto subs = _wds.find(ev.wd);
            if (ev.name.empty() || subs == _wds.end()) {
                continue; // events on the watched directory itself
            }
            change c;
            bool is_dir = ev.mask & IN_ISDIR;
            uint32_t name_filter = is_dir ? notify_change_dir_name : notify_change_file_name;
            if (ev.mask & IN_CREATE) {
                c = {file_action_added, name_filter, {}};
            } else if (ev.mask & IN_DELETE) {
                c = {file_action_removed, name_filter, {}};
            } else if (ev.mask & IN_MOVED_FROM) {
                bool paired = false;
                for (size_t j = i + 1; j < events.size() && !paired; ++j) {
                    paired = (events[j].mask & IN_MOVED_TO) && events[j].cookie == ev.cookie &&
                             events[j].wd == ev.wd;
                }
                c = {paired ? file_action_renamed_old_name : file_action_removed, name_filter, {}};
            } else if (ev.mask & IN_MOVED_TO) {
                bool paired = false;
                for (size_t j = 0; j < i && !paired; ++j) {
                    paired = (events[j].mask & IN_MOVED_FROM) && events[j].cookie == ev.cookie &&
                             events[j].wd == ev.wd;
                }
                c = {paired ? file_action_renamed_new_name : file_action_added, name_filter, {}};
            } else if (ev.mask & IN_MODIFY) {
                c = {file_action_modified, notify_change_size | notify_change_last_write, {}};
            } else if (ev.mask & IN_ATTRIB) {
                // Unlinking changes the link count (IN_ATTRIB) of a file that is then
                // gone: Windows reports only the removal.
                struct stat st {};
                std::string abs = _wd_paths[ev.wd] + "/" + ev.name;
                if (fstatat(AT_FDCWD, abs.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
                    continue;
                }
                c = {file_action_modified, attribute_filters, {}};
            } else {
                continue;
            }
            std::string abs = _wd_paths[ev.wd] + "/" + ev.name;
            auto holders = subs->second; // add_dir below may change the map
            for (auto& [id, rel] : holders) {
                c.name = rel.empty() ? ev.name : rel + "/" + ev.name;
                auto& batch = batches[id];
                // Setting up a new file's attributes is part of creating it: no
                // MODIFIED right after its ADDED.
                if (c.action == file_action_modified && !batch.empty() &&
                    batch.back().action == file_action_added && batch.back().name == c.name) {
                    continue;
                }
                batch.push_back(c);
                // A renamed file also gets MODIFIED for attributes and creation time
                // under its new name, as Windows (and Samba's notify_rename) report.
                if ((ev.mask & IN_MOVED_TO) && !is_dir) {
                    batch.push_back({file_action_modified,
                                     notify_change_attributes | notify_change_creation, c.name,
                                     true});
                }
                auto s = _subs.find(id);
                if (s != _subs.end() && s->second.recursive && is_dir &&
                    (ev.mask & (IN_CREATE | IN_MOVED_TO))) {
                    add_dir(id, s->second, abs, c.name);
                }
            }
        }
        std::vector<std::pair<std::shared_ptr<change_watch::sink>, std::vector<change>>> calls;
        for (auto& [id, changes] : batches) {
            auto s = _subs.find(id);
            if (s != _subs.end()) {
                calls.emplace_back(s->second.s, std::move(changes));
            }
        }
        // Take the dispatch lock before letting go of the table: an unsubscribe that
        // starts now waits until these calls are done.
        std::lock_guard dispatch(_dispatch_mutex);
        lock.unlock();
        for (auto& [s, changes] : calls) {
            (*s)(std::move(changes));
        }
    }

    // Empty batches for the watches that asked for a sync.
    void deliver_syncs() {
        std::vector<std::shared_ptr<change_watch::sink>> sinks;
        std::unique_lock lock(_mutex);
        for (uint64_t id : std::exchange(_syncs, {})) {
            auto s = _subs.find(id);
            if (s != _subs.end()) {
                sinks.push_back(s->second.s);
            }
        }
        std::lock_guard dispatch(_dispatch_mutex);
        lock.unlock();
        for (auto& s : sinks) {
            (*s)({});
        }
    }

    // An empty batch to every sink (see change_watch.hh).
    void tick() {
        std::vector<std::shared_ptr<change_watch::sink>> sinks;
        std::unique_lock lock(_mutex);
        for (auto& [id, sub] : _subs) {
            sinks.push_back(sub.s);
        }
        std::lock_guard dispatch(_dispatch_mutex);
        lock.unlock();
        for (auto& s : sinks) {
            (*s)({});
        }
    }

    // The kernel dropped a watch (its directory is gone).
    void forget(int wd) {
        auto it = _wds.find(wd);
        if (it == _wds.end()) {
            return;
        }
        for (auto& [id, rel] : it->second) {
            auto s = _subs.find(id);
            if (s != _subs.end()) {
                s->second.dirs.erase(wd);
            }
        }
        _wds.erase(it);
        _wd_paths.erase(wd);
    }

    std::mutex _mutex;          // the tables below
    std::mutex _dispatch_mutex; // held while sinks run
    int _fd = -1;
    int _wake_fd = -1;
    std::thread _thread;
    std::atomic<bool> _stop{false};
    uint64_t _next_id = 1;
    std::map<uint64_t, subscription> _subs;
    std::map<int, std::map<uint64_t, std::string>> _wds; // wd -> subscription -> relative dir
    std::map<int, std::string> _wd_paths;                // wd -> absolute path
    std::vector<uint64_t> _syncs;                        // subscriptions waiting for a sync
};

} // namespace

std::unique_ptr<change_watch> change_watch::start(const std::string& dir, bool recursive, sink s) {
    uint64_t id = watcher::get().subscribe(dir, recursive, std::move(s));
    if (!id) {
        return nullptr;
    }
    return std::unique_ptr<change_watch>(new change_watch(id));
}

void change_watch::sync() {
    watcher::get().sync(_id);
}

change_watch::~change_watch() {
    watcher::get().unsubscribe(_id);
}

} // namespace smbx::vfs
