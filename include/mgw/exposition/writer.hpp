// Exposition writer: re-emits parsed families and samples as Prometheus text 0.0.4 or
// OpenMetrics 1.0, converting between the two, appending to a caller-owned buffer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <mgw/exposition/model.hpp>

namespace mgw::exposition {

struct writer_options {
    format output = format::prometheus_text;
    // Names that are not legacy identifiers are written quoted (`{"my.metric"}`), the UTF-8
    // syntax Prometheus 3 negotiates with `escaping=allow-utf-8`. When false they are escaped
    // with the `underscores` scheme instead, which every parser understands.
    bool utf8_names = true;
};

// Samples that exist only in OpenMetrics (`_created`, `_gsum`, `_gcount`). Prometheus text
// has no place for them inside their family, so client_python writes each kind as its own
// gauge family `<family><suffix>` after the family; the writer and the merger do the same.
enum class om_extra : unsigned char { none, created, gcount, gsum };
inline constexpr om_extra om_extras_in_output_order[] = {om_extra::created, om_extra::gcount,
                                                         om_extra::gsum};
std::string_view om_extra_suffix(om_extra extra);

// Which OpenMetrics-only kind `s` (a sample of `f`, parsed from `input`) is; `none` for every
// sample of a Prometheus text input.
om_extra classify_om_extra(const family& f, const sample& s, format input);

// The family name a family is known by independently of its input format: OpenMetrics names
// counters without `_total`, Prometheus text with it, so a text counter `a_total` maps to `a`.
std::string_view canonical_family_name(const family& f, format input);

// The TYPE keyword for `type` in `output` (info and stateset become gauges in 0.0.4,
// gaugehistogram a histogram, unknown `untyped`).
std::string_view type_keyword(metric_type type, format output);

// `# HELP`/`# TYPE`/`# UNIT` lines of family `f` (parsed from `input`) as it is written in
// `opts.output`. In 0.0.4, OpenMetrics counters become `<name>_total` and info `<name>_info`.
void append_family_header(std::string& out, const family& f, format input,
                          const writer_options& opts);

// The header of the gauge family client_python writes for the `extra` samples of `f`.
void append_om_extra_header(std::string& out, const family& f, format input, om_extra extra,
                            const writer_options& opts);

// Injected labels prepared once per source: their `name="value"` pairs rendered and joined
// by commas, and a bit per name (from its length and first byte, mod 64) so the per-sample
// collision check can skip most name comparisons.
struct prepared_labels {
    std::span<const label> labels;
    std::string_view rendered;
    std::uint64_t name_length_bits = 0;
};

// Appends the rendering of `labels` used by prepared_labels::rendered.
void render_labels(std::string& out, std::span<const label> labels, const writer_options& opts);
std::uint64_t name_length_bits(std::span<const label> labels);

// One sample line. `injected` labels are appended after the sample's own labels (already
// escaped values). `f` is the family the sample belongs to in `src`.
// Source labels whose name equals an injected one are renamed `exported_<name>` (repeatedly
// while the name is still taken), or dropped when `drop_colliding` is set.
void append_sample(std::string& out, const parsed_exposition& src, const family& f, const sample& s,
                   const prepared_labels& injected, bool drop_colliding,
                   const writer_options& opts);
// The same, rendering `injected` on the fly (allocates when `injected` is not empty).
void append_sample(std::string& out, const parsed_exposition& src, const family& f, const sample& s,
                   std::span<const label> injected, bool drop_colliding,
                   const writer_options& opts);

// `# EOF` for OpenMetrics; nothing for Prometheus text.
void append_trailer(std::string& out, const writer_options& opts);

// A whole exposition, families in input order, ending with `# EOF` in OpenMetrics. This is a
// merge of one source: a family that clashes with an earlier one in `opts.output` (see
// type_conflict in merger.hpp) is left out; use a merger to learn which.
void write_exposition(std::string& out, const parsed_exposition& src, const writer_options& opts);

// Lower-level pieces, exposed because they are the format rules and are tested on their own.

// A value in its normalised spelling: `+Inf`, `-Inf`, `NaN`, the input text when it is a plain
// decimal number, otherwise the shortest round-trip form of `value` (e.g. Go hex floats).
void append_value(std::string& out, std::string_view text, double value);

// A timestamp converted from `input`'s unit to `output`'s: integer milliseconds in 0.0.4,
// float seconds in OpenMetrics. Returns false (and appends nothing) when `text` is not a
// number. Fractions of milliseconds are truncated toward zero when going to 0.0.4.
bool append_timestamp(std::string& out, std::string_view text, format input, format output);

// HELP text re-escaped from `input`'s convention into `output`'s (0.0.4: `\\`, `\n`;
// OpenMetrics also `\"`; an unknown OpenMetrics escape `\z` is a literal backslash and `z`).
void append_help_text(std::string& out, std::string_view raw, format input, format output);

// A label value as the gateway itself has it (unescaped: an app name, a tag, a pushed label)
// escaped for either format (`\\`, `\"`, `\n`). The one escaper of the codebase.
void append_escaped_label_value(std::string& out, std::string_view raw);

// A label value (raw, escaped) re-emitted with the escapes both formats share (`\\`, `\"`,
// `\n`); a stray backslash becomes `\\`.
void append_label_value(std::string& out, std::string_view raw);

// A metric or label name: verbatim when legal, else quoted (`utf8_names`) or escaped with the
// `underscores` scheme.
bool is_legacy_metric_name(std::string_view name);
bool is_legacy_label_name(std::string_view name);
void append_escaped_name(std::string& out, std::string_view name, bool metric_name,
                         bool utf8_names);

}  // namespace mgw::exposition
