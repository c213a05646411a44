// The apps list as JSON (boost.json, no exceptions: a text that does not decode is nullopt and
// the shell counts it). Labels keep whatever CF tags the directory knew; discover_targets picks
// the ones it shows.
#include "app_list.hpp"

#include <algorithm>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace mgw::cluster {

namespace json = boost::json;

namespace {

bool source_name(std::string_view name) {
    return !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

json::string_view js(std::string_view s) {
    return {s.data(), s.size()};
}

std::string_view sv(const json::string& s) {
    return {s.data(), s.size()};
}

const json::string* string_at(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(js(key));
    return v != nullptr ? v->if_string() : nullptr;
}

}  // namespace

std::string encode_app_list(std::span<const apps::directory_listing> directories) {
    json::array out;
    out.reserve(directories.size());
    for (const apps::directory_listing& directory : directories) {
        json::array apps;
        apps.reserve(directory.apps.size());
        for (const apps::known_app& app : directory.apps) {
            json::object labels;
            for (const auto& [name, value] : app.labels) {
                labels[js(name)] = js(value);
            }
            json::object entry;
            entry["app_guid"] = js(app.app_guid);
            entry["labels"] = std::move(labels);
            apps.push_back(std::move(entry));
        }
        json::object entry;
        entry["name"] = js(directory.name);
        entry["apps"] = std::move(apps);
        out.push_back(std::move(entry));
    }
    json::object root;
    root["directories"] = std::move(out);
    return json::serialize(root);
}

std::optional<std::vector<apps::remote_listing>> decode_app_list(std::string_view text) {
    boost::system::error_code error;
    const json::value root = json::parse(js(text), error);
    if (error || !root.is_object()) {
        return std::nullopt;
    }
    const json::value* directories = root.as_object().if_contains("directories");
    if (directories == nullptr || !directories->is_array()) {
        return std::nullopt;
    }
    std::vector<apps::remote_listing> out;
    for (const json::value& d : directories->as_array()) {
        const json::object* directory = d.if_object();
        if (directory == nullptr) {
            return std::nullopt;
        }
        const json::string* name = string_at(*directory, "name");
        const json::value* apps = directory->if_contains("apps");
        if (name == nullptr || !source_name(sv(*name)) || apps == nullptr || !apps->is_array()) {
            return std::nullopt;
        }
        apps::remote_listing& listing = out.emplace_back();
        listing.name = std::string(sv(*name));
        for (const json::value& a : apps->as_array()) {
            const json::object* app = a.if_object();
            const json::string* guid = app != nullptr ? string_at(*app, "app_guid") : nullptr;
            if (guid == nullptr || guid->empty()) {
                return std::nullopt;
            }
            apps::known_app& known = listing.apps.emplace_back();
            known.app_guid = std::string(sv(*guid));
            if (const json::value* labels = app->if_contains("labels"); labels != nullptr) {
                const json::object* o = labels->if_object();
                if (o == nullptr) {
                    return std::nullopt;
                }
                for (const auto& [label, value] : *o) {
                    const json::string* v = value.if_string();
                    if (v == nullptr) {
                        return std::nullopt;
                    }
                    known.labels.emplace(std::string(label.data(), label.size()),
                                         std::string(sv(*v)));
                }
            }
        }
    }
    return out;
}

}  // namespace mgw::cluster
