// External exporters fetched for an app answer: one target per (app, exporter), one fan-out.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <mgw/apps/external_exporter_source.hpp>

#include "external_exporter.hpp"
#include "scrape_report.hpp"

namespace mgw::apps {

namespace {

// The results an exporter fetch ends with: the scraper's error classes, then parse_error.
constexpr std::size_t scrape_result_count =
    static_cast<std::size_t>(scrape::scrape_error::cancelled) + 1;
constexpr std::size_t parse_error_result = scrape_result_count;
constexpr std::size_t result_count = scrape_result_count + 1;

std::string_view result_name(std::size_t result) {
    if (result == parse_error_result) {
        return "parse_error";
    }
    return scrape::to_string(static_cast<scrape::scrape_error>(result));
}

std::string_view app_id_of(const tag_map& tags) {
    const auto found = tags.find("app_id");
    return found == tags.end() ? std::string_view() : std::string_view(found->second);
}

}  // namespace

struct external_exporter_source::metrics {
    // [exporter][result]
    std::vector<std::array<prometheus::Counter*, result_count>> scrapes;

    metrics(const std::vector<external_exporter_config>& exporters,
            prometheus::Registry& registry) {
        auto& family = prometheus::BuildCounter()
                           .Name("mgw_external_exporter_scrapes_total")
                           .Help(
                               "External exporter fetches by exporter (its configured name) and "
                               "outcome (ok, the scrape error class, or parse_error).")
                           .Register(registry);
        scrapes.resize(exporters.size());
        for (std::size_t e = 0; e < exporters.size(); ++e) {
            for (std::size_t r = 0; r < result_count; ++r) {
                scrapes[e][r] = &family.Add(
                    {{"exporter", exporters[e].name}, {"result", std::string(result_name(r))}});
            }
        }
    }
};

external_exporter_source::external_exporter_source(std::vector<external_exporter_config> exporters,
                                                   scrape::scraper& scraper,
                                                   std::size_t max_body_bytes, core::logger& log,
                                                   prometheus::Registry& registry)
    : exporters_(std::move(exporters)),
      scraper_(scraper),
      max_body_bytes_(max_body_bytes),
      log_(log),
      metrics_(std::make_unique<metrics>(exporters_, registry)) {}

external_exporter_source::~external_exporter_source() = default;

boost::asio::awaitable<void> external_exporter_source::collect(
    const app_query& app, std::chrono::steady_clock::time_point deadline,
    std::vector<contributed_exposition>& out) {
    if (app.apps.empty() || exporters_.empty()) {
        co_return;
    }
    // Target i asks exporter i % n about app i / n.
    const std::size_t n = exporters_.size();
    std::vector<scrape::scrape_target> targets;
    targets.reserve(app.apps.size() * n);
    for (const tag_map* tags : app.apps) {
        const core::tag_values values = exporter_tag_values(*tags);
        for (const external_exporter_config& exporter : exporters_) {
            // No server_name: the certificate is checked against the configured host, as
            // Promfetcher's pseudo-route (no server_cert_domain_san) does.
            targets.push_back({.host = exporter.address_host,
                               .port = exporter.port,
                               .tls = exporter.tls,
                               .server_name = "",
                               .path = exporter_request_path(exporter, values)});
        }
    }
    // No client header is forwarded (an exporter is not the app: the client's Authorization
    // is not for it) and no Accept is sent, as Promfetcher does for exporters.
    const scrape::scrape_request_options options{.deadline = deadline,
                                                 .headers = {},
                                                 .accept = "",
                                                 .max_body_bytes = max_body_bytes_,
                                                 .accept_gzip = true};
    std::vector<scrape::scrape_result> results = co_await scraper_.scrape_all(targets, options);

    std::vector<exporter_failure> failures;
    for (std::size_t i = 0; i < results.size(); ++i) {
        scrape::scrape_result& result = results[i];
        const tag_map& tags = *app.apps[i / n];
        const external_exporter_config& exporter = exporters_[i % n];
        std::size_t outcome = static_cast<std::size_t>(result.error);
        std::string_view reason = failure_reason(result);
        contributed_exposition contribution;
        // Checked as it stands, so that a broken exporter is reported in the answer like a
        // dead one; read once, and handed over parsed.
        if (result.ok()) {
            contribution = read_contribution(
                std::move(result.body), exposition::format_from_content_type(result.content_type),
                contribution_check::valid);
            if (!contribution.readable()) {
                outcome = parse_error_result;
                reason = "parse_error";
                log_.debug("external exporter body rejected",
                           {{"exporter", exporter.name}, {"error", contribution.error->message()}});
            }
        }
        metrics_->scrapes[i % n][outcome]->Increment();
        if (outcome != static_cast<std::size_t>(scrape::scrape_error::ok)) {
            failures.push_back({.app_tags = &tags, .exporter = &exporter, .reason = reason});
            log_.debug(
                "external exporter failed",
                {{"exporter", exporter.name}, {"app_id", app_id_of(tags)}, {"reason", reason}});
            continue;
        }
        for (const std::string_view name : app_label_names) {
            const auto found = tags.find(std::string(name));
            contribution.labels.emplace_back(name,
                                             found == tags.end() ? std::string() : found->second);
        }
        out.push_back(std::move(contribution));
    }
    if (!failures.empty()) {
        out.push_back(exporter_errors_contribution(failures));
    }
}

}  // namespace mgw::apps
