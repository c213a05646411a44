// Combining the nodes' proxy metrics with the exposition merger: every node's text is parsed
// and added as a source with its node label injected, so a family all nodes share is written
// once with one series per node.
#include "proxy_combine.hpp"

#include <deque>
#include <vector>

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/parser.hpp>

namespace mgw::rsocket {

namespace {

// The merger holds views into the parsed texts and the escaped labels: kept in a deque, which
// never moves what it holds.
struct node_source {
    exposition::parsed_exposition parsed;
    std::string escaped;
    exposition::label label;
};

}  // namespace

proxy_combine_report combine_proxy_metrics(std::span<const node_proxy_metrics> nodes,
                                           const exposition::writer_options& options,
                                           std::string& out) {
    proxy_combine_report report;
    std::deque<node_source> sources;
    for (const node_proxy_metrics& node : nodes) {
        node_source& source = sources.emplace_back();
        if (!exposition::parse(node.text, exposition::format::prometheus_text, source.parsed)) {
            ++report.unreadable;
            sources.pop_back();
            continue;
        }
        exposition::append_escaped_label_value(source.escaped, node.node);
        source.label = {.name = gateway_node_label,
                        .value = source.escaped,
                        .name_was_quoted = false,
                        .value_has_escapes = source.escaped.size() != node.node.size()};
        ++report.combined;
    }
    exposition::merger merger;
    for (const node_source& source : sources) {
        merger.add_source(source.parsed, std::span(&source.label, 1));
    }
    merger.start(options);
    report.conflicts = merger.conflicts().size();
    constexpr std::size_t piece_bytes = 64 << 10;
    while (!merger.write_some(out, piece_bytes)) {
    }
    return report;
}

}  // namespace mgw::rsocket
