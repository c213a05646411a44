// Exposition parser: Prometheus text 0.0.4 (with the quoted UTF-8 name extension) and fully
// validated OpenMetrics 1.0 into the zero-copy parsed_exposition model. Pure: no I/O.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include "mgw/exposition/model.hpp"

namespace mgw::exposition {

// Why a body was refused, as an error_code of the category "mgw.exposition" (docs/DEVELOPING.md,
// "Errors"): the kind of fault, for code that branches; the position and reason in parse_error
// are what a log line or `check` shows.
enum class errc {
    invalid_utf8 = 1,  // the body is not valid UTF-8
    // A line that does not follow the format's grammar: names, label sets, values, timestamps,
    // exemplars, comments, blank lines or text after `# EOF`.
    syntax_error,
    // Well-formed lines that break a rule of the format: repeated or misplaced metadata,
    // families or metrics not contiguous, clashing names, duplicate label names, a value or
    // label a metric type forbids, inconsistent histograms. What read_lenient() repairs or
    // drops where it can.
    rule_violation,
    limit_exceeded,  // a bound of parse_limits: line length, label value, labels, samples
    missing_eof,     // an OpenMetrics body without its final `# EOF`: usually a cut-off body
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(errc e) noexcept;

// Where and why a parse failed. `reason` always points at static text, so an error costs no
// allocation; `line` and `column` are 1-based, the column counted in bytes.
struct parse_error {
    std::size_t line = 0;
    std::size_t column = 0;
    std::string_view reason;
    boost::system::error_code code = make_error_code(errc::syntax_error);

    // "line:col: reason"
    std::string message() const;
};

// Writes message(): what a failed CHECK(parse(...)) in a test shows of the result.
std::ostream& operator<<(std::ostream& os, const parse_error& error);

// Lets result<T, parse_error>::value() throw when misused; the parser itself never throws.
[[noreturn]] void throw_exception_from_error(const parse_error& error,
                                             const boost::source_location& location);

// What parse() and read_lenient() return. The parsed model is not the result's value but an
// in/out argument, for speed: callers parse into objects they keep (the slots of an answer's
// vector that the merger then reads, the fleet benchmark's 1,000 reused ones, a bench loop's
// one), so that a parse of similar size into the same object reuses its capacity and
// allocates nothing, and nothing is moved afterwards. Returned by value, every parse would grow
// four vectors from empty (about ten reallocations each for 1,000 series) and a move of the
// model allocates (libstdc++'s std::deque move constructor gives the source a new map).
using parse_result = boost::system::result<void, parse_error>;

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

// Parses `input` into `out` (cleared first; capacity reused). Returns the error on invalid
// input; `out` is then unspecified but still safe to reuse. The views in `out` point into
// `input`. Safe to call concurrently from several threads (the scratch sets are per thread);
// after a first parse of similar size, a parse into the same `out` allocates nothing.
parse_result parse(std::string_view input, format input_format, parsed_exposition& out,
                   const parse_limits& limits = {},
                   label_storage storage = label_storage::materialized);

// What a lenient read changed so that the gateway can serve a source: every change keeps the
// rest of the source, and is counted and noted with its position.
enum class leniency_action : unsigned char {
    joined,          // a repeated block of a family, joined to the family's first block
    ignored,         // repeated metadata (HELP, TYPE, UNIT) of a family: the first is kept
    dropped_family,  // a block whose TYPE differs from its family's, or whose name clashes
    dropped_metric,  // all samples of one label set that cannot be written validly
    dropped_sample,  // one sample: a duplicate series, a value its type forbids...
    repaired,        // changed in place: a `+Inf` bucket made from `_count`, `le` respelled
};
inline constexpr std::size_t leniency_action_count = 6;
// "joined", "ignored", "dropped_family"...: the enumerator's name, also a metric label value.
std::string_view to_string(leniency_action action);

struct leniency_note {
    const char* at = nullptr;  // into the input: the start of the line concerned
    leniency_action action = leniency_action::joined;
    std::string_view reason;  // static text
};

// What one lenient read changed. Reusing one across reads keeps its capacity.
class leniency_report {
  public:
    static constexpr std::size_t max_notes = 64;

    void clear();
    // True when the read changed nothing: the source was valid as it was.
    bool empty() const { return changes_ == 0; }
    std::size_t count(leniency_action action) const {
        return counts_[static_cast<std::size_t>(action)];
    }
    // Samples of the input that are not in the result (duplicates, dropped blocks...).
    std::size_t samples_dropped() const { return samples_dropped_; }
    // Families the repairs could not make valid and dropped whole; always 0 unless the
    // repair rules miss a case (the fuzzer holds them to that).
    std::size_t unrepairable() const { return unrepairable_; }
    // The first max_notes changes, in the order they were made.
    const std::vector<leniency_note>& notes() const { return notes_; }

    // "line:col: action: reason" for a note of a read of `input`.
    static std::string describe(const leniency_note& note, std::string_view input);

    // Used by the reader.
    void note(const char* at, leniency_action action, std::string_view reason,
              std::size_t samples_dropped = 0);
    void note_unrepairable(const char* at, std::size_t samples_dropped);

  private:
    std::size_t counts_[leniency_action_count] = {};
    std::size_t changes_ = 0;
    std::size_t samples_dropped_ = 0;
    std::size_t unrepairable_ = 0;
    std::vector<leniency_note> notes_;
};

// Reads a source (a scraped instance, an RSocket client, a push) the way the gateway serves
// it: what parse() rejects as a whole but a real exporter sends and Prometheus ingests is
// accepted and repaired, so that what is read can always be written validly in both formats:
//  - a family repeated further down (several registries' expositions concatenated) is joined
//    to its first block; a repeated block with another TYPE, or whose name clashes with an
//    earlier family, is dropped; repeated HELP/TYPE/UNIT lines keep the first;
//  - in Prometheus text, samples without metadata form one untyped family per name, and a
//    TYPE after a family's untyped samples types them;
//  - per metric (label set), what OpenMetrics forbids is repaired or dropped: samples of a
//    label set spread over a family are brought together, duplicate series (same name, labels
//    and timestamp) keep the first, timestamps that go back or mix with none are dropped;
//    a histogram without `+Inf` gets one from its `_count` when its buckets are cumulative,
//    an infinite `le` is spelled `+Inf`, buckets are ordered; negative or NaN counters, bad
//    quantiles and counts, non-cumulative histograms are dropped;
//  - label sets whose names coincide once escaped for legacy clients are dropped.
// The syntax (lines, labels, numbers, UTF-8) is checked as parse() checks it: a body that is
// not an exposition at all still fails. Same limits, storage and allocation behaviour as
// parse(); `report` is cleared first.
parse_result read_lenient(std::string_view input, format input_format, parsed_exposition& out,
                          leniency_report& report, const parse_limits& limits = {},
                          label_storage storage = label_storage::materialized);

// Picks the format from a Content-Type header value (openmetrics-text → openmetrics, else
// prometheus_text).
format format_from_content_type(std::string_view content_type);

// For `check --format auto`: openmetrics if the body's last non-empty line is "# EOF", else
// prometheus_text.
format detect_format(std::string_view body);

}  // namespace mgw::exposition

template <>
struct boost::system::is_error_code_enum<mgw::exposition::errc> : std::true_type {};
