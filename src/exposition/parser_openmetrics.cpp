// OpenMetrics 1.0 text with the full validation of the specification and its conformance
// suite: metadata placement and uniqueness, per-type sample names and values, label rules for
// le/quantile/stateset, histogram consistency, metric and point ordering, exemplars, # EOF.
// Families whose names clash (a counter `a` owns `a_total` and `a_created`) are detected with
// one name set for the whole exposition; interleaved metrics with one group set per family.
//
// A lenient read (read_lenient) keeps every rule within a family block, but a family repeated
// further down becomes a continuation block, joined when the input ends, and repeated metadata
// keeps the first; a block with another TYPE, or whose names clash, is skipped.
#include <cmath>
#include <cstdint>
#include <string_view>
#include <vector>

#include "parser_conform.hpp"
#include "parser_formats.hpp"
#include "parser_group_set.hpp"
#include "parser_name_set.hpp"
#include "parser_number.hpp"
#include "parser_utf8.hpp"

namespace mgw::exposition::detail {
namespace {

constexpr std::size_t max_exemplar_code_points = 128;

bool parse_type_name(std::string_view text, metric_type& out) {
    struct entry {
        std::string_view name;
        metric_type type;
    };
    static constexpr entry types[] = {
        {"counter", metric_type::counter},     {"gauge", metric_type::gauge},
        {"histogram", metric_type::histogram}, {"gaugehistogram", metric_type::gaugehistogram},
        {"summary", metric_type::summary},     {"info", metric_type::info},
        {"stateset", metric_type::stateset},   {"unknown", metric_type::unknown},
    };
    for (const auto& e : types) {
        if (e.name == text) {
            out = e.type;
            return true;
        }
    }
    return false;
}

// The sample-name suffixes a family of each type owns ("" = the family name itself).
struct suffix_list {
    const std::string_view* items;
    std::size_t size;
};

suffix_list suffixes_of(metric_type type) {
    static constexpr std::string_view counter[] = {"_total", "_created"};
    static constexpr std::string_view summary[] = {"", "_count", "_sum", "_created"};
    static constexpr std::string_view histogram[] = {"_count", "_sum", "_bucket", "_created"};
    static constexpr std::string_view gaugehistogram[] = {"_gcount", "_gsum", "_bucket"};
    static constexpr std::string_view info[] = {"_info"};
    static constexpr std::string_view plain[] = {""};
    switch (type) {
        case metric_type::counter:
            return {counter, std::size(counter)};
        case metric_type::summary:
            return {summary, std::size(summary)};
        case metric_type::histogram:
            return {histogram, std::size(histogram)};
        case metric_type::gaugehistogram:
            return {gaugehistogram, std::size(gaugehistogram)};
        case metric_type::info:
            return {info, std::size(info)};
        default:
            return {plain, std::size(plain)};
    }
}

bool is_counter_like_suffix(std::string_view suffix) {
    return suffix == "_total" || suffix == "_sum" || suffix == "_count" || suffix == "_bucket" ||
           suffix == "_gcount" || suffix == "_gsum";
}

bool is_integer(double value) {
    return std::isfinite(value) && value == std::floor(value);
}

// Non-finite label numbers (le, quantile) must be spelled exactly +Inf / -Inf.
bool parse_label_number(std::string_view text, double& out) {
    if (!parse_number(text, out) || std::isnan(out)) {
        return false;
    }
    return !std::isinf(out) || text == "+Inf" || text == "-Inf";
}

const label* find_label(const std::vector<label>& labels, index_range range,
                        std::string_view name) {
    for (std::uint32_t i = range.first; i < range.first + range.count; ++i) {
        if (labels[i].name == name) {
            return &labels[i];
        }
    }
    return nullptr;
}

std::size_t unescaped_code_points(std::string_view text) {
    std::size_t escapes = 0;
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        if (text[i] != '\\') {
            continue;
        }
        const char next = text[i + 1];
        if (next == '\\' || next == 'n' || next == '"') {
            ++escapes;
        }
        ++i;
    }
    return count_code_points(text) - escapes;
}

std::uint64_t hash_text(std::string_view text, std::uint64_t h) {
    for (const char c : text) {
        h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    }
    return h;
}

struct openmetrics_scratch {
    name_set seen;
    group_set groups;
    std::vector<std::uint32_t> continues;  // lenient read: see join_family_blocks
};

// Running state of one histogram/gaugehistogram metric point (one group at one timestamp).
struct histogram_point {
    bool active = false;
    bool has_bucket = false;
    double last_bound = 0;
    double last_bucket_value = 0;
    bool has_count = false;
    double count = 0;
    bool has_negative_buckets = false;
    bool has_sum = false;
    bool has_gsum = false;
    bool has_negative_gsum = false;
    std::size_t last_line = 0;
};

class openmetrics_parser {
  public:
    openmetrics_parser(std::string_view input, parsed_exposition& out, parse_error& error,
                       const parse_limits& limits, openmetrics_scratch& scratch,
                       leniency_report* report)
        : reader_(input, limits.max_line_bytes),
          out_(out),
          error_(error),
          limits_(limits),
          seen_(scratch.seen),
          groups_(scratch.groups),
          continues_(scratch.continues),
          report_(report) {}

    bool run() {
        const char* begin = nullptr;
        const char* end = nullptr;
        bool terminated = true;
        std::size_t last_line_length = 0;
        for (;;) {
            const auto status = reader_.next(begin, end, terminated);
            if (status == line_reader::status::end) {
                break;
            }
            if (status == line_reader::status::too_long) {
                return report(error_, reader_.line_number(), begin, begin + limits_.max_line_bytes,
                              "line longer than the limit", errc::limit_exceeded);
            }
            line_begin_ = begin;
            last_line_length = static_cast<std::size_t>(end - begin);
            if (eof_) {
                return error_at(begin, "text after # EOF");
            }
            if (!parse_line(begin, end)) {
                return false;
            }
        }
        if (!finish_family()) {
            return false;
        }
        if (!eof_) {
            // Point just past the last byte: the start of a missing line or the end of the last.
            error_.line = terminated ? reader_.line_number() + 1 : reader_.line_number();
            error_.column = terminated ? 1 : last_line_length + 1;
            error_.reason = "missing # EOF at the end";
            error_.code = make_error_code(errc::missing_eof);
            return false;
        }
        if (report_ != nullptr) {
            join_family_blocks(out_, continues_, *report_);
        }
        return true;
    }

  private:
    bool error_at(const char* at, std::string_view reason, errc code = errc::syntax_error) {
        return report(error_, reader_.line_number(), line_begin_, at, reason, code);
    }

    // Only for what is found once a family or a histogram point is complete: a rule violation.
    bool error_at_line(std::size_t line, std::size_t column, std::string_view reason) {
        error_.line = line;
        error_.column = column;
        error_.reason = reason;
        error_.code = make_error_code(errc::rule_violation);
        return false;
    }

    family& current() { return out_.families.back(); }

    bool parse_line(const char* p, const char* end) {
        if (p == end) {
            return error_at(p, "blank line");
        }
        if (*p == '#') {
            if (std::string_view(p, static_cast<std::size_t>(end - p)) == "# EOF") {
                eof_ = true;
                return true;
            }
            return parse_metadata(p, end);
        }
        return parse_sample(p, end);
    }

    // ---- metadata -------------------------------------------------------------------------

    bool parse_metadata(const char* p, const char* end) {
        const std::string_view line(p, static_cast<std::size_t>(end - p));
        if (line.size() < 7 || line[1] != ' ' || line[6] != ' ') {
            return error_at(p,
                            "invalid comment: only # HELP, # TYPE, # UNIT and # EOF are allowed");
        }
        const std::string_view keyword = line.substr(2, 4);
        enum class kind { help, type, unit } which{};
        if (keyword == "HELP") {
            which = kind::help;
        } else if (keyword == "TYPE") {
            which = kind::type;
        } else if (keyword == "UNIT") {
            which = kind::unit;
        } else {
            return error_at(p + 2, "unknown metadata keyword");
        }
        p += 7;
        const char* name_at = p;
        name_token name;
        failure f;
        if (!read_metric_name(p, end, name, f)) {
            return error_at(f.at, f.reason, f.code);
        }
        if (p == end || *p != ' ') {
            return error_at(p, "expected a space and text after the metric name");
        }
        ++p;
        const std::string_view text(p, static_cast<std::size_t>(end - p));

        if (!has_family_ || current().name != name.text) {
            if (!finish_family()) {
                return false;
            }
            start_family(name.text, name_at);
        } else if (current().samples.count != 0) {
            if (report_ == nullptr) {
                return error_at(line_begin_, "metadata after samples of its family",
                                errc::rule_violation);
            }
            // A new block of the family; it joins the family or is skipped when it ends.
            if (!finish_family()) {
                return false;
            }
            start_family(name.text, name_at);
        }
        family& fam = current();
        switch (which) {
            case kind::help:
                if (fam.help_present) {
                    if (report_ != nullptr) {
                        report_->note(line_begin_, leniency_action::ignored,
                                      "repeated HELP of a family: the first is kept");
                        return true;
                    }
                    return error_at(line_begin_, "duplicate HELP for a family",
                                    errc::rule_violation);
                }
                fam.help = text;
                fam.help_present = true;
                return true;
            case kind::type: {
                if (fam.has_type && report_ == nullptr) {
                    return error_at(line_begin_, "duplicate TYPE for a family",
                                    errc::rule_violation);
                }
                metric_type type{};
                if (!parse_type_name(text, type)) {
                    return error_at(p, "invalid metric type");
                }
                if (fam.has_type) {
                    if (type == fam.type) {
                        report_->note(line_begin_, leniency_action::ignored,
                                      "repeated TYPE of a family");
                        return true;
                    }
                    // Another TYPE: a new block, which cannot join and is skipped.
                    if (!finish_family()) {
                        return false;
                    }
                    start_family(name.text, name_at);
                }
                current().type = type;
                current().has_type = true;
                return true;
            }
            case kind::unit:
                if (has_unit_) {
                    if (report_ != nullptr) {
                        report_->note(line_begin_, leniency_action::ignored,
                                      "repeated UNIT of a family: the first is kept");
                        return true;
                    }
                    return error_at(line_begin_, "duplicate UNIT for a family",
                                    errc::rule_violation);
                }
                for (const char* u = p; u < end; ++u) {
                    if (!has_class(*u, class_metric_char)) {
                        return error_at(u, "invalid character in unit");
                    }
                }
                fam.unit = text;
                has_unit_ = true;
                unit_line_ = reader_.line_number();
                unit_column_ = static_cast<std::size_t>(p - line_begin_) + 1;
                return true;
        }
        return true;
    }

    void start_family(std::string_view name, const char* name_at) {
        family fam;
        fam.name = name;
        fam.samples.first = static_cast<std::uint32_t>(out_.samples.size());
        out_.families.push_back(fam);
        if (report_ != nullptr) {
            continues_.push_back(first_block);
        }
        has_family_ = true;
        has_unit_ = false;
        family_line_ = reader_.line_number();
        family_column_ = static_cast<std::size_t>(name_at - line_begin_) + 1;
        has_group_ = false;
        groups_.clear();
        point_ = histogram_point{};
    }

    // Checks that need the whole family: its names against earlier families, its unit, the
    // last histogram point.
    bool finish_family() {
        if (!has_family_) {
            return true;
        }
        has_family_ = false;
        const family& fam = current();
        if (!finish_histogram_point()) {
            return false;
        }
        const suffix_list owned = suffixes_of(fam.type);
        if (report_ != nullptr && !finish_lenient_block(owned)) {
            return true;  // skipped: nothing of it is left to check
        }
        bool clash = report_ == nullptr && !seen_.insert(fam.name, {});
        for (std::size_t i = 0; i < owned.size && report_ == nullptr; ++i) {
            if (!owned.items[i].empty() && !seen_.insert(fam.name, owned.items[i])) {
                clash = true;
            }
        }
        if (clash) {
            return error_at_line(family_line_, family_column_,
                                 "metric family name clashes with an earlier family");
        }
        if (!fam.unit.empty()) {
            const std::string_view name = fam.name;
            const bool suffix_ok = name.size() > fam.unit.size() &&
                                   name.substr(name.size() - fam.unit.size()) == fam.unit &&
                                   name[name.size() - fam.unit.size() - 1] == '_';
            if (!suffix_ok) {
                return error_at_line(unit_line_, unit_column_,
                                     "unit is not a suffix of the metric family name");
            }
            if (fam.type == metric_type::info || fam.type == metric_type::stateset) {
                return error_at_line(unit_line_, unit_column_,
                                     "info and stateset families cannot have a unit");
            }
        }
        return true;
    }

    // A lenient read's family block ends: it is a family's first block (its names are then
    // registered), a continuation of an earlier family of the same TYPE, or it clashes and
    // is removed (false).
    bool finish_lenient_block(suffix_list owned) {
        const auto index = static_cast<std::uint32_t>(out_.families.size() - 1);
        family& fam = current();
        const std::uint32_t owner = seen_.find(fam.name, {});
        if (owner != name_set::absent) {
            family& first = out_.families[owner];
            if (first.name == fam.name && first.type == fam.type) {
                continues_[index] = owner;
                report_->note(fam.name.data(), leniency_action::joined,
                              "family repeated further down: joined to its first block");
                return true;
            }
            return skip_block(first.name == fam.name
                                  ? "repeated family with another TYPE: the first is kept"
                                  : "family whose name an earlier family's samples have");
        }
        for (std::size_t i = 0; i < owned.size; ++i) {
            if (!owned.items[i].empty() &&
                seen_.find(fam.name, owned.items[i]) != name_set::absent) {
                return skip_block("family whose sample names earlier families have");
            }
        }
        seen_.emplace(fam.name, {}, index);
        for (std::size_t i = 0; i < owned.size; ++i) {
            if (!owned.items[i].empty()) {
                seen_.emplace(fam.name, owned.items[i], index);
            }
        }
        return true;
    }

    bool skip_block(std::string_view reason) {
        const family& fam = current();
        report_->note(fam.name.data(), leniency_action::dropped_family, reason, fam.samples.count);
        out_.samples.resize(fam.samples.first);
        out_.families.pop_back();
        continues_.pop_back();
        return false;
    }

    // ---- samples --------------------------------------------------------------------------

    bool parse_sample(const char* p, const char* end) {
        const char* const name_at = p;
        failure f;
        name_token name;
        const auto first_label = static_cast<std::uint32_t>(out_.labels.size());
        if (has_class(*p, class_metric_start)) {
            p = scan_name_chars(p + 1, end, true);
            name.text = std::string_view(name_at, static_cast<std::size_t>(p - name_at));
            if (p < end && *p != ' ' && *p != '{') {
                return error_at(p, "invalid character in metric name");
            }
        } else if (*p != '{') {
            return error_at(p, "invalid metric name");
        }
        if (p < end && *p == '{') {
            ++p;
            if (!parse_label_set<true>(p, end, out_.labels, &name, limits_, f)) {
                return error_at(f.at, f.reason, f.code);
            }
            if (name.text.empty()) {
                return error_at(name_at, "missing metric name");
            }
        }
        sample s;
        s.name = name.text;
        s.labels = {first_label, static_cast<std::uint32_t>(out_.labels.size()) - first_label};
        if (p == end || *p != ' ') {
            return error_at(p, "expected a space before the value");
        }
        ++p;
        const char* value_at = p;
        s.value_text = next_field(p, end);
        if (s.value_text.empty()) {
            return error_at(value_at, "missing value");
        }
        if (!parse_number(s.value_text, s.value)) {
            return error_at(value_at, "invalid value");
        }
        bool has_timestamp = false;
        double timestamp = 0;
        if (p < end) {
            ++p;  // the space ending the value
            if (p < end && *p == '#') {
                if (!parse_exemplar(p, end, s)) {
                    return false;
                }
            } else {
                const char* ts_at = p;
                s.timestamp_text = next_field(p, end);
                if (s.timestamp_text.empty()) {
                    return error_at(ts_at, "missing timestamp");
                }
                if (!parse_number(s.timestamp_text, timestamp) || !std::isfinite(timestamp)) {
                    return error_at(ts_at, "invalid timestamp");
                }
                has_timestamp = true;
                if (p < end) {
                    ++p;
                    if (p == end || *p != '#') {
                        return error_at(p, "unexpected text after timestamp");
                    }
                    if (!parse_exemplar(p, end, s)) {
                        return false;
                    }
                }
            }
        }
        if (out_.samples.size() >= limits_.max_samples) {
            return error_at(name_at, "more samples than the limit", errc::limit_exceeded);
        }
        return add_sample(s, name_at, has_timestamp, timestamp);
    }

    // The text up to the next space or the end of the line; p ends on that space or the end.
    static std::string_view next_field(const char*& p, const char* end) {
        const char* begin = p;
        while (p < end && *p != ' ') {
            ++p;
        }
        return std::string_view(begin, static_cast<std::size_t>(p - begin));
    }

    // p is on the '#' of " # {labels} value [timestamp]".
    bool parse_exemplar(const char* p, const char* end, sample& s) {
        if (end - p < 3 || p[1] != ' ' || p[2] != '{') {
            return error_at(p, "invalid exemplar: expected '# {'");
        }
        p += 3;
        failure f;
        const auto first = static_cast<std::uint32_t>(out_.labels.size());
        if (!parse_label_set<true>(p, end, out_.labels, nullptr, limits_, f)) {
            return error_at(f.at, f.reason, f.code);
        }
        exemplar ex;
        ex.labels = {first, static_cast<std::uint32_t>(out_.labels.size()) - first};
        std::size_t code_points = 0;
        for (std::uint32_t i = first; i < out_.labels.size(); ++i) {
            code_points += count_code_points(out_.labels[i].name) +
                           unescaped_code_points(out_.labels[i].value);
        }
        if (code_points > max_exemplar_code_points) {
            return error_at(p, "exemplar labels longer than 128 code points", errc::rule_violation);
        }
        if (p == end || *p != ' ') {
            return error_at(p, "expected a space after exemplar labels");
        }
        ++p;
        const char* value_at = p;
        ex.value_text = next_field(p, end);
        if (ex.value_text.empty()) {
            return error_at(value_at, "missing exemplar value");
        }
        if (!parse_number(ex.value_text, ex.value)) {
            return error_at(value_at, "invalid exemplar value");
        }
        if (p < end) {
            ++p;
            const char* ts_at = p;
            ex.timestamp_text = next_field(p, end);
            double timestamp = 0;
            if (ex.timestamp_text.empty()) {
                return error_at(ts_at, "missing exemplar timestamp");
            }
            if (!parse_number(ex.timestamp_text, timestamp) || !std::isfinite(timestamp)) {
                return error_at(ts_at, "invalid exemplar timestamp");
            }
            if (p < end) {
                return error_at(p, "unexpected text after exemplar");
            }
        }
        s.exemplar_index = static_cast<std::uint32_t>(out_.exemplars.size());
        out_.exemplars.push_back(ex);
        return true;
    }

    // ---- sample semantics -----------------------------------------------------------------

    // The label that does not take part in a sample's group: le on buckets, quantile on
    // summary quantiles, the family-named label of a stateset.
    std::string_view excluded_label(const family& fam, std::string_view suffix) const {
        switch (fam.type) {
            case metric_type::histogram:
            case metric_type::gaugehistogram:
                return suffix == "_bucket" ? std::string_view("le") : std::string_view();
            case metric_type::summary:
                return suffix.empty() ? std::string_view("quantile") : std::string_view();
            case metric_type::stateset:
                return fam.name;
            default:
                return {};
        }
    }

    std::uint64_t group_hash(const sample& s, std::string_view excluded, bool info) const {
        if (info) {
            return 0;  // all samples of an info family form one group
        }
        std::uint64_t sum = 0;
        for (std::uint32_t i = s.labels.first; i < s.labels.first + s.labels.count; ++i) {
            const label& l = out_.labels[i];
            if (!excluded.empty() && l.name == excluded) {
                continue;
            }
            std::uint64_t h = hash_text(l.name, 0xcbf29ce484222325ULL);
            h = hash_text(l.value, (h ^ 0xff) * 0x100000001b3ULL);
            sum += h ^ (h >> 31);
        }
        return sum;
    }

    // Whether samples a and b (with their own excluded labels) have the same group.
    bool same_group(const sample& a, std::string_view excluded_a, const sample& b,
                    std::string_view excluded_b, bool info) const {
        if (info) {
            return true;
        }
        std::size_t count_a = 0;
        for (std::uint32_t i = a.labels.first; i < a.labels.first + a.labels.count; ++i) {
            const label& la = out_.labels[i];
            if (!excluded_a.empty() && la.name == excluded_a) {
                continue;
            }
            ++count_a;
            const label* lb = find_label(out_.labels, b.labels, la.name);
            if (lb == nullptr || lb->value != la.value ||
                (!excluded_b.empty() && lb->name == excluded_b)) {
                return false;
            }
        }
        std::size_t count_b = 0;
        for (std::uint32_t i = b.labels.first; i < b.labels.first + b.labels.count; ++i) {
            if (excluded_b.empty() || out_.labels[i].name != excluded_b) {
                ++count_b;
            }
        }
        return count_a == count_b;
    }

    std::string_view suffix_in(const family& fam, std::string_view sample_name) const {
        return sample_name.substr(fam.name.size());
    }

    bool owns(const family& fam, std::string_view sample_name) const {
        if (sample_name.size() < fam.name.size() ||
            sample_name.compare(0, fam.name.size(), fam.name) != 0) {
            return false;
        }
        const std::string_view suffix = suffix_in(fam, sample_name);
        const suffix_list owned = suffixes_of(fam.type);
        for (std::size_t i = 0; i < owned.size; ++i) {
            if (owned.items[i] == suffix) {
                return true;
            }
        }
        return false;
    }

    bool add_sample(const sample& s, const char* name_at, bool has_timestamp, double timestamp) {
        if (!has_family_ || !owns(current(), s.name)) {
            if (!finish_family()) {
                return false;
            }
            const std::uint32_t owner =
                report_ != nullptr ? seen_.find(s.name, {}) : name_set::absent;
            if (owner != name_set::absent && owns(out_.families[owner], s.name)) {
                // A lenient read: more samples of an earlier family, in a block of its own.
                const family& first = out_.families[owner];
                const std::string_view name = first.name;
                const metric_type type = first.type;
                const bool has_type = first.has_type;
                start_family(name, name_at);
                current().type = type;
                current().has_type = has_type;
            } else {
                start_family(s.name, name_at);
            }
        }
        family& fam = current();
        const std::string_view suffix = suffix_in(fam, s.name);
        const metric_type type = fam.type;
        const bool info = type == metric_type::info;

        if (type == metric_type::stateset &&
            find_label(out_.labels, s.labels, fam.name) == nullptr) {
            return error_at(name_at, "stateset sample without a label named after its family",
                            errc::rule_violation);
        }
        double bound = 0;
        const bool bucket =
            (type == metric_type::histogram || type == metric_type::gaugehistogram) &&
            suffix == "_bucket";
        if (bucket) {
            const label* le = find_label(out_.labels, s.labels, "le");
            if (le == nullptr || !parse_label_number(le->value, bound)) {
                return error_at(name_at, "bucket without a valid le label", errc::rule_violation);
            }
            if (!is_integer(s.value)) {
                return error_at(name_at, "bucket value must be an integer", errc::rule_violation);
            }
        }
        if ((suffix == "_count" || suffix == "_gcount") && !is_integer(s.value)) {
            return error_at(name_at, "count value must be an integer", errc::rule_violation);
        }
        if (type == metric_type::summary && suffix.empty()) {
            const label* q = find_label(out_.labels, s.labels, "quantile");
            double quantile = 0;
            if (q == nullptr || !parse_label_number(q->value, quantile) || quantile < 0 ||
                quantile > 1) {
                return error_at(name_at, "summary quantile without a valid quantile label",
                                errc::rule_violation);
            }
        }

        // Metrics (label groups) must not interleave; points of one metric must not go back
        // in time nor mix samples with and without a timestamp.
        const auto index = static_cast<std::uint32_t>(out_.samples.size());
        const std::string_view excluded = excluded_label(fam, suffix);
        const std::uint64_t hash = group_hash(s, excluded, info);
        bool same_as_current = false;
        if (has_group_) {
            const sample& prev = out_.samples[group_sample_];
            same_as_current =
                hash == group_hash_ && same_group(s, excluded, prev, group_excluded_, info);
        }
        if (has_group_ && !same_as_current) {
            const bool seen_before = groups_.contains(hash, [&](std::uint32_t other) {
                const sample& o = out_.samples[other];
                return same_group(s, excluded, o, excluded_label(fam, suffix_in(fam, o.name)),
                                  info);
            });
            if (seen_before) {
                return error_at(
                    name_at,
                    "metric not contiguous: its samples are interleaved with another metric's",
                    errc::rule_violation);
            }
        }
        if (same_as_current) {
            if (has_timestamp != group_has_timestamp_) {
                return error_at(name_at, "mix of samples with and without timestamp in one metric",
                                errc::rule_violation);
            }
            if (has_timestamp && group_timestamp_ > timestamp && !info) {
                return error_at(name_at, "timestamps went backwards within a metric",
                                errc::rule_violation);
            }
        }
        if (type == metric_type::histogram || type == metric_type::gaugehistogram) {
            const bool new_point = !same_as_current || has_timestamp != group_has_timestamp_ ||
                                   (has_timestamp && timestamp != group_timestamp_);
            if (new_point && !finish_histogram_point()) {
                return false;
            }
            if (!add_histogram_sample(s, suffix, bound, name_at)) {
                return false;
            }
        }
        if (!same_as_current) {
            groups_.insert(hash, index);
        }
        has_group_ = true;
        group_hash_ = hash;
        group_sample_ = index;
        group_excluded_ = excluded;
        group_has_timestamp_ = has_timestamp;
        group_timestamp_ = timestamp;

        if (type == metric_type::stateset && s.value != 0 && s.value != 1) {
            return error_at(name_at, "stateset values must be 0 or 1", errc::rule_violation);
        }
        if (info && s.value != 1) {
            return error_at(name_at, "info values must be 1", errc::rule_violation);
        }
        if (type == metric_type::summary && suffix.empty() && s.value < 0) {
            return error_at(name_at, "quantile values cannot be negative", errc::rule_violation);
        }
        if (type != metric_type::unknown && is_counter_like_suffix(suffix)) {
            if (std::isnan(s.value)) {
                return error_at(name_at, "counter-like value cannot be NaN", errc::rule_violation);
            }
            // A gaugehistogram's _gsum may be negative (with negative buckets, checked per point).
            if (s.value < 0 && suffix != "_gsum") {
                return error_at(name_at, "counter-like value cannot be negative",
                                errc::rule_violation);
            }
        }
        if (s.has_exemplar()) {
            const bool allowed =
                ((type == metric_type::histogram || type == metric_type::gaugehistogram) &&
                 suffix == "_bucket") ||
                (type == metric_type::counter && suffix == "_total");
            if (!allowed) {
                return error_at(
                    name_at,
                    "exemplars are allowed only on counter _total and histogram _bucket samples",
                    errc::rule_violation);
            }
        }
        ++fam.samples.count;
        out_.samples.push_back(s);
        return true;
    }

    bool add_histogram_sample(const sample& s, std::string_view suffix, double bound,
                              const char* name_at) {
        histogram_point& h = point_;
        h.active = true;
        h.last_line = reader_.line_number();
        if (suffix == "_bucket") {
            if (bound < 0) {
                h.has_negative_buckets = true;
            }
            if (h.has_bucket && bound <= h.last_bound) {
                return error_at(name_at, "histogram buckets out of order", errc::rule_violation);
            }
            if (h.has_bucket && s.value < h.last_bucket_value) {
                return error_at(name_at, "histogram bucket counts decrease", errc::rule_violation);
            }
            h.has_bucket = true;
            h.last_bound = bound;
            h.last_bucket_value = s.value;
        } else if (suffix == "_count" || suffix == "_gcount") {
            h.has_count = true;
            h.count = s.value;
        } else if (suffix == "_sum") {
            h.has_sum = true;
        } else if (suffix == "_gsum") {
            h.has_gsum = true;
            if (s.value < 0) {
                h.has_negative_gsum = true;
            }
        }
        return true;
    }

    bool finish_histogram_point() {
        histogram_point h = point_;
        point_ = histogram_point{};
        if (!h.active) {
            return true;
        }
        const auto fail_point = [&](std::string_view reason) {
            return error_at_line(h.last_line, 1, reason);
        };
        if (!h.has_bucket || !std::isinf(h.last_bound) || h.last_bound < 0) {
            return fail_point("histogram without a +Inf bucket");
        }
        if (h.has_count && h.count != h.last_bucket_value) {
            return fail_point("histogram count does not match its +Inf bucket");
        }
        if (h.has_sum && !h.has_count) {
            return fail_point("histogram _sum without _count");
        }
        if (h.has_gsum && !h.has_count) {
            return fail_point("gaugehistogram _gsum without _gcount");
        }
        if (!h.has_sum && !h.has_gsum && h.has_count) {
            return fail_point("histogram count without a sum");
        }
        if (h.has_negative_buckets && h.has_sum) {
            return fail_point("histogram with negative buckets cannot have a _sum");
        }
        if (!h.has_negative_buckets && h.has_negative_gsum) {
            return fail_point("negative _gsum without negative buckets");
        }
        return true;
    }

    line_reader reader_;
    parsed_exposition& out_;
    parse_error& error_;
    const parse_limits& limits_;
    name_set& seen_;
    group_set& groups_;
    const char* line_begin_ = nullptr;
    bool eof_ = false;

    bool has_family_ = false;
    bool has_unit_ = false;
    std::size_t family_line_ = 0;
    std::size_t family_column_ = 0;
    std::size_t unit_line_ = 0;
    std::size_t unit_column_ = 0;

    bool has_group_ = false;
    std::uint64_t group_hash_ = 0;
    std::uint32_t group_sample_ = 0;
    std::string_view group_excluded_;
    bool group_has_timestamp_ = false;
    double group_timestamp_ = 0;

    histogram_point point_;

    std::vector<std::uint32_t>& continues_;
    leniency_report* report_;
};

}  // namespace

bool parse_openmetrics(std::string_view input, parsed_exposition& out, parse_error& error,
                       const parse_limits& limits, leniency_report* report) {
    // Per-thread scratch so that a steady-state parse allocates nothing.
    thread_local openmetrics_scratch scratch;
    scratch.seen.clear();
    scratch.groups.clear();
    scratch.continues.clear();
    openmetrics_parser parser(input, out, error, limits, scratch, report);
    return parser.run();
}

}  // namespace mgw::exposition::detail
