// Push module: pushed names made valid for the exposition. Metrics Forwarder clients send
// Micrometer-style names (`jvm.memory.used`) and free-form tag keys; Prometheus accepts neither.
#pragma once

#include <string>
#include <string_view>

namespace mgw::push {

// `[a-zA-Z_:][a-zA-Z0-9_:]*`: every other byte (dots, dashes, UTF-8) becomes `_`, and a leading
// digit gets a `_` in front. Empty input stays empty (the caller rejects it).
std::string sanitize_metric_name(std::string_view raw);

// `[a-zA-Z_][a-zA-Z0-9_]*` likewise (no colons in label names). A result starting with `__`
// (reserved for Prometheus' internal labels) gets `tag` in front: `__x` becomes `tag__x`.
std::string sanitize_label_name(std::string_view raw);

}  // namespace mgw::push
