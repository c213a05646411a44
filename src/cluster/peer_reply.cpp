// Rendering with the exposition merger: each contribution (parsed by its source) is merged
// with its labels injected, so a family several contributions share is written once and the
// text is one valid exposition.
#include "peer_reply.hpp"

#include <deque>
#include <vector>

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/exposition/writer.hpp>

namespace mgw::cluster {

namespace {

// One contribution's labels escaped; the merger holds views into them, so these live in a
// deque that never moves them.
struct prepared {
    const exposition::parsed_exposition* parsed = nullptr;
    std::vector<std::string> escaped;
    std::vector<exposition::label> labels;
};

}  // namespace

render_report render_contributions(std::span<const apps::contributed_exposition> contributions,
                                   std::string& out) {
    render_report report;
    std::deque<prepared> kept;
    exposition::merger merger;
    for (const apps::contributed_exposition& c : contributions) {
        if (!c.readable()) {
            ++report.unreadable;
            continue;
        }
        prepared& p = kept.emplace_back();
        p.parsed = &c.parsed;
        p.escaped.reserve(c.labels.size());
        p.labels.reserve(c.labels.size());
        for (const auto& [name, value] : c.labels) {
            std::string& escaped = p.escaped.emplace_back();
            exposition::append_escaped_label_value(escaped, value);
            p.labels.push_back({.name = name,
                                .value = escaped,
                                .name_was_quoted = false,
                                .value_has_escapes = escaped.size() != value.size()});
        }
        ++report.rendered;
    }
    if (kept.empty()) {
        return report;
    }
    for (const prepared& p : kept) {
        merger.add_source(*p.parsed, p.labels);
    }
    merger.write_all(out, {.output = exposition::format::openmetrics, .utf8_names = true});
    return report;
}

apps::contributed_exposition peer_contribution(std::string text) {
    return apps::read_contribution(std::move(text), exposition::format::openmetrics);
}

}  // namespace mgw::cluster
