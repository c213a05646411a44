// The in-memory index behind push authentication and custom metrics paths.
#include <algorithm>
#include <mutex>

#include <mgw/broker/binding_index.hpp>

#include "access_key.hpp"

namespace mgw::broker {

namespace {

constexpr std::size_t max_access_key_bytes = 256;

}  // namespace

void binding_index::add_key(std::string key_hash, push::push_binding binding) {
    const std::unique_lock lock(mutex_);
    const std::string binding_id = binding.binding_id;
    forget_locked(binding_id);
    // A hash another binding held (only a forged record repeats one) now names this binding:
    // the other one no longer owns it, so forgetting it later must not revoke this key.
    if (auto taken = by_key_hash_.find(key_hash); taken != by_key_hash_.end()) {
        key_hash_by_binding_.erase(taken->second.binding_id);
    }
    key_hash_by_binding_[binding_id] = key_hash;
    by_key_hash_[std::move(key_hash)] = std::move(binding);
}

void binding_index::add_metrics_path(std::string_view binding_id, std::string_view app_guid,
                                     std::int64_t seq, std::string path) {
    const std::unique_lock lock(mutex_);
    const std::string id(binding_id);
    forget_locked(id);
    auto app = paths_by_app_.find(app_guid);
    if (app == paths_by_app_.end()) {
        app = paths_by_app_.emplace(std::string(app_guid), std::map<std::int64_t, path_binding>{})
                  .first;
    }
    app->second[seq] = {.binding_id = id, .path = std::move(path)};
    app_by_path_binding_[id] = std::string(app_guid);
}

void binding_index::remove(std::string_view binding_id) {
    const std::unique_lock lock(mutex_);
    forget_locked(std::string(binding_id));
}

void binding_index::forget_locked(const std::string& id) {
    if (auto key = key_hash_by_binding_.find(id); key != key_hash_by_binding_.end()) {
        by_key_hash_.erase(key->second);
        key_hash_by_binding_.erase(key);
    }
    if (auto app = app_by_path_binding_.find(id); app != app_by_path_binding_.end()) {
        if (auto paths = paths_by_app_.find(app->second); paths != paths_by_app_.end()) {
            std::erase_if(paths->second,
                          [&id](const auto& entry) { return entry.second.binding_id == id; });
            if (paths->second.empty()) {
                paths_by_app_.erase(paths);
            }
        }
        app_by_path_binding_.erase(app);
    }
}

std::optional<push::push_binding> binding_index::find_by_access_key(
    std::string_view access_key) const {
    // Issued keys are 36 characters; anything far longer is not worth hashing.
    if (access_key.empty() || access_key.size() > max_access_key_bytes) {
        return std::nullopt;
    }
    // Hashed outside the lock; the hash is what the index holds, never the key.
    const std::string key_hash = hash_access_key(access_key);
    const std::shared_lock lock(mutex_);
    const auto found = by_key_hash_.find(key_hash);
    if (found == by_key_hash_.end()) {
        return std::nullopt;
    }
    return found->second;
}

std::optional<std::string> binding_index::custom_metric_path(std::string_view app_guid) const {
    const std::shared_lock lock(mutex_);
    const auto app = paths_by_app_.find(app_guid);
    if (app == paths_by_app_.end() || app->second.empty() ||
        app->second.rbegin()->second.path.empty()) {
        return std::nullopt;
    }
    return app->second.rbegin()->second.path;
}

std::size_t binding_index::key_count() const {
    const std::shared_lock lock(mutex_);
    return by_key_hash_.size();
}

std::vector<push::push_binding> binding_index::push_bindings() const {
    std::vector<push::push_binding> bindings;
    {
        const std::shared_lock lock(mutex_);
        bindings.reserve(by_key_hash_.size());
        for (const auto& [hash, binding] : by_key_hash_) {
            bindings.push_back(binding);
        }
    }
    std::sort(bindings.begin(), bindings.end(),
              [](const push::push_binding& a, const push::push_binding& b) {
                  return a.binding_id < b.binding_id;
              });
    return bindings;
}

std::size_t binding_index::metrics_path_bindings() const {
    const std::shared_lock lock(mutex_);
    return app_by_path_binding_.size();
}

}  // namespace mgw::broker
