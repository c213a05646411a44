// RSocket module (internal): /metrics/proxy in cluster mode, the original proxy's own metrics of
// every live node as one exposition. Each node's series keep their own identity with a
// `gateway_node` label naming the node: a counter then stays monotonic per node when a node
// dies or restarts (a sum into one series would drop when a node leaves, which Prometheus reads
// as a counter reset and turns into a false spike in rate()), and `sum without (gateway_node)`
// gives the cluster's figure. Pure: the endpoint gathers, this combines.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include <mgw/exposition/writer.hpp>

namespace mgw::rsocket {

// The label naming the node a series of the combined /metrics/proxy comes from.
inline constexpr std::string_view gateway_node_label = "gateway_node";

// One node's /metrics/proxy as it serialised it (Prometheus text 0.0.4).
struct node_proxy_metrics {
    std::string_view node;
    std::string_view text;
};

struct proxy_combine_report {
    std::size_t combined = 0;    // nodes whose series are in the answer
    std::size_t unreadable = 0;  // nodes whose text did not parse, left out
    std::size_t conflicts = 0;   // families left out: a TYPE other nodes disagree with
};

// Appends to `out` the nodes' series, each with `gateway_node="<node>"` added, families written
// once, in `options`' format, nodes in the order given (this node first, by convention).
proxy_combine_report combine_proxy_metrics(std::span<const node_proxy_metrics> nodes,
                                           const exposition::writer_options& options,
                                           std::string& out);

}  // namespace mgw::rsocket
