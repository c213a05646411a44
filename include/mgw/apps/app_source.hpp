// Apps module: the seam through which series that are not scraped from the app's instances
// (pushed metrics, RSocket clients, external exporters) join its merged exposition.
#pragma once

#include <chrono>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <mgw/exposition/model.hpp>

namespace mgw::apps {

// What the app endpoint knows about the app it was asked for.
struct app_query {
    // The identifier as requested, unescaped: an app GUID, `org/space/app` or a route URI.
    std::string_view identifier;
    // `app_id` of the resolved instances, or, when the route table knows none, the identifier
    // if it is a UUID (a bound app that only pushes); in text::canonical_uuid's spelling when
    // it is a UUID. Empty when the route table knows no instance and the identifier is no UUID.
    std::string_view app_guid;
    // Tags of the first resolved instance (organization_name, space_name, ...); null when none.
    const std::map<std::string, std::string>* tags = nullptr;
    // Tags of the first resolved instance of each distinct app_id, in instance order: a route
    // may be mapped to several apps (blue-green deployments). Empty when none resolved.
    std::span<const std::map<std::string, std::string>* const> apps;
    // `?scope=local`: only what this node holds; sources that ask other nodes (the cluster
    // peers) contribute nothing.
    bool local_only = false;
};

// Whose series a source contributes. `/only-app-metrics` and `only_from_app` ask only for what
// the app itself exposes (Promfetcher's "without the sugar coating").
enum class series_origin {
    app,    // the app's own series, reaching the gateway another way (pushed, RSocket)
    added,  // series about the app from elsewhere, added by configuration (external exporters)
};

// One exposition a source contributes; merged after the scraped instances, in source order.
struct contributed_exposition {
    std::string body;  // exposition text
    exposition::format format = exposition::format::prometheus_text;
    // Appended to every sample of the body, in this order; values unescaped.
    std::vector<std::pair<std::string, std::string>> labels;
};

class app_source {
  public:
    virtual ~app_source() = default;

    virtual series_origin origin() const { return series_origin::app; }

    // Appends this source's expositions for the app. Must complete by `deadline` (the endpoint
    // does not wait longer) and must not throw; a source with nothing for the app appends
    // nothing.
    virtual boost::asio::awaitable<void> collect(const app_query& app,
                                                 std::chrono::steady_clock::time_point deadline,
                                                 std::vector<contributed_exposition>& out) = 0;
};

}  // namespace mgw::apps
