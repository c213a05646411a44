// The per-sample writer with what the merger knows per family: the merged answer's hot loop
// writes every sample of a family member in a row, so a fact about the family (whether its name
// is a legacy name) is computed once per member instead of being rescanned for every sample.
#pragma once

#include <string>

#include <mgw/exposition/writer.hpp>

namespace mgw::exposition::detail {

// append_sample (writer.hpp), told whether `f.name` is a legacy metric name
// (is_legacy_metric_name); the output is the same bytes.
void append_sample(std::string& out, const parsed_exposition& src, const family& f, const sample& s,
                   const prepared_labels& injected, bool drop_colliding, const writer_options& opts,
                   bool family_name_legacy);

}  // namespace mgw::exposition::detail
