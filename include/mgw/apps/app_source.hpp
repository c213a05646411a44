// Apps module: the seam through which series that are not scraped from the app's instances
// (pushed metrics, RSocket clients, external exporters) join its merged exposition.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <mgw/exposition/model.hpp>
#include <mgw/exposition/parser.hpp>

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

// One exposition a source contributes, already parsed: merged after the scraped instances, in
// source order. The merger takes `parsed` as it is, so no source's series are rendered to text
// and read again. Move-only: a copy of `parsed` would keep views into the original's
// synthesized text (a vector of these reallocates by moving, which keeps them valid).
struct contributed_exposition {
    contributed_exposition() = default;
    contributed_exposition(contributed_exposition&&) = default;
    contributed_exposition& operator=(contributed_exposition&&) = default;
    contributed_exposition(const contributed_exposition&) = delete;
    contributed_exposition& operator=(const contributed_exposition&) = delete;

    // Owns the bytes the views of `parsed` (and the notes of `repairs`) point into: a body
    // received as text, or what a source built its series in. Kept until the merge is written.
    std::shared_ptr<const void> storage;
    // What `storage` holds, leased from the memory ceiling with the parsed series while the
    // answer is merged.
    std::size_t storage_bytes = 0;
    exposition::parsed_exposition parsed;
    // Set when what the source received is no exposition: then `parsed` is empty, the app
    // answer leaves it out and counts it as a source error.
    std::optional<exposition::parse_error> error;
    // What reading it leniently changed, counted by the app answer like an instance's repairs.
    exposition::leniency_report repairs;
    // Appended to every sample, in this order; values unescaped.
    std::vector<std::pair<std::string, std::string>> labels;

    bool readable() const { return !error.has_value(); }
};

// How a body received as text must be to join an answer.
enum class contribution_check {
    // Read as the gateway reads a scraped instance: what Prometheus would ingest is repaired
    // (exposition::read_lenient); only what is no exposition at all is refused.
    lenient,
    // Must first pass exposition::parse as it stands (Promfetcher refuses an external exporter
    // that answers anything else), then is read leniently like the others.
    valid,
};

// The one step from a body received as text (an RSocket client's answer, an external exporter's
// body, a cluster peer's) to a contribution: the body is moved into `storage` and parsed there.
// Labels are the caller's to add. Pure, no throw on any input; the parse error or the repairs
// are in the result, for the caller's report and the answer's counters.
contributed_exposition read_contribution(std::string body, exposition::format format,
                                         contribution_check check = contribution_check::lenient);

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
