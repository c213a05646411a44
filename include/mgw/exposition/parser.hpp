// Exposition parser: Prometheus text 0.0.4 (with the quoted UTF-8 name extension) and fully
// validated OpenMetrics 1.0 into the zero-copy parsed_exposition model. Pure: no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "mgw/exposition/model.hpp"

namespace mgw::exposition {

// Where and why a parse failed. `reason` always points at static text, so an error costs no
// allocation; `line` and `column` are 1-based, the column counted in bytes.
struct parse_error {
    std::size_t line = 0;
    std::size_t column = 0;
    std::string_view reason;

    // "line:col: reason"
    std::string message() const;
};

// Hard bounds on one parse, so a hostile or broken body yields an error instead of unbounded
// memory or time.
struct parse_limits {
    std::size_t max_label_value_bytes = 1 << 20;
    std::size_t max_labels_per_sample = 256;
    std::size_t max_line_bytes = 4 << 20;
    std::size_t max_samples = 2'000'000;
};

// How a parse stores each sample's labels.
enum class label_storage {
    // Every label in parsed_exposition::labels: what tests, `check` and anything that looks
    // labels up by name want.
    materialized,
    // A Prometheus text sample whose label block is canonical (sample::raw_labels_size) keeps
    // only that block; other samples, and all OpenMetrics ones, as above. For merge paths
    // that hold many expositions at once: it saves 40 bytes per label, and the writer copies
    // such a block in one append. Validation is the same in both modes.
    raw_when_canonical,
};

// The labels of `s` appended to `out`, whichever way they are stored.
void append_labels_of(const parsed_exposition& src, const sample& s, std::vector<label>& out);

// Parses `input` into `out` (cleared first; capacity reused). Returns false and fills `error` on
// invalid input; `out` is then unspecified but still safe to reuse. The views in `out` point into
// `input`. Safe to call concurrently from several threads (the scratch sets are per thread);
// after a first parse of similar size, a parse into the same `out` allocates nothing.
bool parse(std::string_view input, format input_format, parsed_exposition& out, parse_error& error,
           const parse_limits& limits = {}, label_storage storage = label_storage::materialized);

// Picks the format from a Content-Type header value (openmetrics-text → openmetrics, else
// prometheus_text).
format format_from_content_type(std::string_view content_type);

// For `check --format auto`: openmetrics if the body's last non-empty line is "# EOF", else
// prometheus_text.
format detect_format(std::string_view body);

}  // namespace mgw::exposition
