// Apps module: the fetch plan of one app answer, the first pure step of the merged endpoint.
// It turns what the HTTP layer decoded (path, query, headers, deadline) and a route snapshot
// into everything the fan-out needs, so that the coroutine in app_metrics_service.cpp only does
// I/O and this part is tested without a socket (test/unit/apps/fetch_plan_test.cpp).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/system/result.hpp>

#include <mgw/apps/app_metrics_service.hpp>
#include <mgw/apps/app_request.hpp>
#include <mgw/apps/app_source.hpp>
#include <mgw/apps/instance_labels.hpp>
#include <mgw/http/request_context.hpp>
#include <mgw/routes/route_snapshot.hpp>
#include <mgw/scrape/target.hpp>

namespace mgw::apps {

struct fetch_plan {
    app_request app;
    // The identifier unescaped once: what is resolved, named in a 404 and given to the sources.
    std::string shown;
    routes::endpoint_list endpoints;  // the app's instances, in merge order
    // The instances' CF labels, one per endpoint. Merged series point into them: sized once,
    // never moved element-wise (moving the vector keeps the elements where they are).
    std::vector<instance_labels> labels;
    std::vector<scrape::scrape_target> targets;  // one per endpoint
    std::string metric_path;                     // requested from every instance
    // The canonical GUID the sources compare (empty when neither instances nor the
    // identifier name one), and the tags of the first instance of each distinct app.
    std::string app_guid;
    std::vector<const std::map<std::string, std::string>*> apps;
    std::chrono::steady_clock::time_point deadline;  // for instances and sources
    scrape::header_list headers;                     // forwarded to instances
    std::string accept;                              // Promfetcher's Accept for the API version

    const routes::endpoint* first() const {
        return endpoints.empty() ? nullptr : endpoints.front().get();
    }
    // What app sources are asked about; points into this plan.
    app_query query() const {
        return {.identifier = shown,
                .app_guid = app_guid,
                .tags = endpoints.empty() ? nullptr : &endpoints.front()->tags,
                .apps = apps,
                .local_only = app.local_only};
    }
};

// The plan for `request` (its decoded path, query and headers) against `snapshot`, at `now`.
// `lookup` may be empty. An app_request_error (of the category mgw.apps) is the answer to send
// (400 or 404).
boost::system::result<fetch_plan, app_request_error> plan_fetch(
    const http::request_context& request, const routes::route_snapshot& snapshot,
    const app_metrics_options& options, const metric_path_lookup& lookup,
    std::chrono::steady_clock::time_point now);

}  // namespace mgw::apps
