// The parsed form of one exposition (Prometheus text 0.0.4 or OpenMetrics 1.0): families,
// samples and labels as string_views into the caller's input buffer, so nothing is copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace mgw::exposition {

enum class format {
    prometheus_text,  // text/plain; version=0.0.4
    openmetrics,      // application/openmetrics-text; version=1.0.0
};

enum class metric_type {
    unknown,  // "untyped" in 0.0.4, "unknown" in OpenMetrics, or no TYPE line
    counter,
    gauge,
    histogram,
    gaugehistogram,
    summary,
    info,
    stateset,
};

// A label as written in the input. `value` is the raw text between the quotes, still escaped;
// `value_has_escapes` says whether it contains a backslash, so writers that re-emit it in the
// same escaping can copy it verbatim and only unescape when they must.
struct label {
    std::string_view name;  // unquoted name (a quoted UTF-8 name is stored without its quotes)
    std::string_view value;
    bool name_was_quoted = false;
    bool value_has_escapes = false;
};

// A half-open range into one of the flat vectors of a parsed_exposition.
struct index_range {
    std::uint32_t first = 0;
    std::uint32_t count = 0;
};

struct exemplar {
    index_range labels;           // into parsed_exposition::labels
    std::string_view value_text;  // raw number as written
    double value = 0;
    std::string_view timestamp_text;  // empty when absent (always float seconds)
};

// One sample line. A million of these are held at once while a fleet is merged, so the struct
// is kept small: the rare exemplar lives out of line in parsed_exposition::exemplars.
struct sample {
    static constexpr std::uint32_t no_exemplar = UINT32_MAX;

    std::string_view name;        // full sample name, e.g. "http_requests_total", "rpc_bucket"
    index_range labels;           // into parsed_exposition::labels
    std::string_view value_text;  // raw number as written ("1e3", "+Inf", "NaN", ...)
    double value = 0;
    // Raw timestamp; empty when absent. Milliseconds (integer) in 0.0.4, seconds (float) in
    // OpenMetrics: writers convert when the output format differs from the input's.
    std::string_view timestamp_text;
    std::uint32_t exemplar_index = no_exemplar;  // into parsed_exposition::exemplars
    // Non-zero when the labels are kept as their raw block instead of in `labels` (then
    // empty): the text between `{` and `}`, which directly follows the unquoted name. Only a
    // canonical block is kept so (see label_storage in parser.hpp): `name="value"` pairs
    // joined by single commas, legacy names, no escapes, exactly what a writer would emit.
    // The block is found from `name`, so `name` must stay the view the parser set.
    std::uint32_t raw_labels_size = 0;

    bool has_exemplar() const { return exemplar_index != no_exemplar; }
    bool has_raw_labels() const { return raw_labels_size != 0; }
    std::string_view raw_labels() const { return {name.data() + name.size() + 1, raw_labels_size}; }
};

// Calls `visit(label)` for each label of a canonical raw block (sample::raw_labels()).
template <class Visit>
void for_each_raw_label(std::string_view block, Visit&& visit) {
    const char* p = block.data();
    const char* const end = p + block.size();
    while (p < end) {
        const char* eq = p;
        while (*eq != '=') {
            ++eq;
        }
        const char* value = eq + 2;  // past `="`
        const char* close = value;
        while (*close != '"') {
            ++close;
        }
        visit(label{std::string_view(p, static_cast<std::size_t>(eq - p)),
                    std::string_view(value, static_cast<std::size_t>(close - value)), false,
                    false});
        p = close + 2;  // past `",`
    }
}

// The sizes of the parts of one sample line of a family kept as lines (sample_lines.hpp): with
// them the line is read again without scanning it.
struct sample_line_sizes {
    static constexpr std::uint16_t no_block = UINT16_MAX;
    std::uint16_t name = 0;
    std::uint16_t block = no_block;  // between `{` and `}`; no_block when the line has no braces
    std::uint16_t value = 0;
    std::uint16_t timestamp = 0;  // 0 when absent
};

struct family {
    std::string_view name;  // the family name (OpenMetrics: without _total/_info suffix)
    metric_type type = metric_type::unknown;
    bool has_type = false;  // a TYPE line was present
    // Raw HELP text, still escaped in the input's convention (0.0.4 escapes only \\ and \n,
    // OpenMetrics also \"); `help_present` distinguishes an empty HELP from none.
    std::string_view help;
    bool help_present = false;
    std::string_view unit;  // OpenMetrics UNIT; empty when absent
    index_range samples;    // into parsed_exposition::samples, contiguous
    // Set when the family's samples are kept as lines (sample_lines.hpp): they are the
    // `samples.count` consecutive lines that start at `first_line` in
    // parsed_exposition::sample_lines, and `samples` is then a range of
    // parsed_exposition::line_sizes, one per line.
    bool samples_as_lines = false;
    std::uint32_t first_line = 0;
    // Set by the Prometheus text parser: bit label_name_bit(name) for every label name in the
    // family's raw blocks (sample::raw_labels), so that a name whose bit is clear is in none of
    // them; the writer skips looking for injected names in the blocks of a family that cannot
    // hold any.
    std::uint64_t raw_label_name_bits = 0;
};

// A label name's bit in family::raw_label_name_bits and prepared_labels::name_length_bits:
// its length and first byte, mod 64.
inline unsigned label_name_bit(std::string_view name) {
    const unsigned first = name.empty() ? 0U : static_cast<unsigned char>(name[0]);
    return (static_cast<unsigned>(name.size()) * 7U + first) % 64U;
}

// One parsed exposition. The views point into the buffer handed to the parser, which must
// outlive this object. Reusing one instance across parses keeps the vectors' capacity, so a
// steady-state parse allocates nothing.
struct parsed_exposition {
    format source_format = format::prometheus_text;
    std::vector<family> families;
    std::vector<sample> samples;
    std::vector<label> labels;
    std::vector<exemplar> exemplars;
    // Text a lenient read made up and views in the model point into: the name of a `+Inf`
    // bucket synthesised for a histogram that had no bucket at all. Almost always empty; a
    // deque, so that its strings never move.
    std::deque<std::string> synthesized_text;
    // Set by copy_as_sample_lines (sample_lines.hpp): the input that the families marked
    // `samples_as_lines` are read again from, line by line, by expand_samples. A million
    // 72-byte samples are as large as the text they were read from.
    std::string_view sample_lines;
    std::vector<sample_line_sizes> line_sizes;

    const exemplar& exemplar_of(const sample& s) const { return exemplars[s.exemplar_index]; }

    void clear() {
        families.clear();
        samples.clear();
        labels.clear();
        exemplars.clear();
        synthesized_text.clear();
        sample_lines = {};
        line_sizes.clear();
    }
};

}  // namespace mgw::exposition
