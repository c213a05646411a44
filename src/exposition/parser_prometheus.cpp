// Prometheus text format 0.0.4 (and the quoted UTF-8 name syntax of text 1.0.0). As lenient as
// Prometheus' own parser on real bodies (blanks around tokens, trailing commas, free comments,
// HELP/TYPE in any order), but families must be contiguous and described at most once, because
// the model (and everything downstream that merges or re-emits it) relies on that.
#include <cstdint>
#include <string_view>

#include "parser_formats.hpp"
#include "parser_name_set.hpp"
#include "parser_number.hpp"

namespace mgw::exposition::detail {
namespace {

constexpr std::uint32_t no_family = UINT32_MAX;

// A name without one _bucket/_count/_sum suffix: what ties a metadata-less histogram or
// summary's samples together.
std::string_view base_name(std::string_view name) {
    for (const std::string_view suffix :
         {std::string_view("_bucket"), std::string_view("_count"), std::string_view("_sum")}) {
        if (name.size() > suffix.size() &&
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
            return name.substr(0, name.size() - suffix.size());
        }
    }
    return name;
}

// Whether a sample continues the current family. Without a TYPE line, x, x_bucket, x_count
// and x_sum stay together as Prometheus would group them (bodies without metadata interleave
// a summary's quantiles with its _sum/_count per label set).
bool belongs_to(std::string_view sample_name, const family& fam) {
    if (!fam.has_type) {
        return sample_name == fam.name || base_name(sample_name) == base_name(fam.name);
    }
    if (sample_name.size() < fam.name.size() ||
        sample_name.compare(0, fam.name.size(), fam.name) != 0) {
        return false;
    }
    const std::string_view suffix = sample_name.substr(fam.name.size());
    if (suffix.empty()) {
        return true;
    }
    switch (fam.type) {
        case metric_type::histogram:
            return suffix == "_bucket" || suffix == "_count" || suffix == "_sum";
        case metric_type::summary:
            return suffix == "_count" || suffix == "_sum";
        default:
            return false;
    }
}

bool parse_type_name(std::string_view text, metric_type& out) {
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    if (text == "counter") {
        out = metric_type::counter;
    } else if (text == "gauge") {
        out = metric_type::gauge;
    } else if (text == "histogram") {
        out = metric_type::histogram;
    } else if (text == "summary") {
        out = metric_type::summary;
    } else if (text == "untyped") {
        out = metric_type::unknown;
    } else {
        return false;
    }
    return true;
}

class prometheus_parser {
  public:
    prometheus_parser(std::string_view input, parsed_exposition& out, parse_error& error,
                      const parse_limits& limits, label_storage storage, name_set& seen)
        : reader_(input, limits.max_line_bytes),
          out_(out),
          error_(error),
          limits_(limits),
          seen_(seen),
          raw_when_canonical_(storage == label_storage::raw_when_canonical) {}

    bool run() {
        const char* begin = nullptr;
        const char* end = nullptr;
        bool terminated = false;
        for (;;) {
            const auto status = reader_.next(begin, end, terminated);
            if (status == line_reader::status::end) {
                return true;
            }
            if (status == line_reader::status::too_long) {
                return report(error_, reader_.line_number(), begin, begin + limits_.max_line_bytes,
                              "line longer than the limit");
            }
            line_begin_ = begin;
            if (!parse_line(begin, end)) {
                return false;
            }
        }
    }

  private:
    bool error_at(const char* at, std::string_view reason) {
        return report(error_, reader_.line_number(), line_begin_, at, reason);
    }

    bool parse_line(const char* p, const char* end) {
        p = skip_blanks(p, end);
        if (p == end) {
            return true;
        }
        if (*p == '#') {
            return parse_comment(p + 1, end);
        }
        return parse_sample(p, end);
    }

    bool parse_comment(const char* p, const char* end) {
        if (p == end || !has_class(*p, class_blank)) {
            return true;  // "#foo": a comment
        }
        p = skip_blanks(p, end);
        if (end - p < 5) {
            return true;
        }
        const std::string_view keyword(p, 4);
        const bool is_help = keyword == "HELP";
        if ((!is_help && keyword != "TYPE") || !has_class(p[4], class_blank)) {
            return true;
        }
        p = skip_blanks(p + 4, end);
        const char* name_at = p;
        name_token name;
        failure f;
        if (!read_metric_name(p, end, name, f)) {
            return error_at(f.at, f.reason);
        }
        std::string_view text;
        if (p < end) {
            if (!has_class(*p, class_blank)) {
                return error_at(p, "invalid character in metric name");
            }
            text = std::string_view(p + 1, static_cast<std::size_t>(end - p - 1));
        }
        family* fam = current_ != no_family ? &out_.families[current_] : nullptr;
        if (fam == nullptr || fam->name != name.text) {
            if (!start_family(name.text, name_at,
                              "duplicate family: metadata for a family seen earlier")) {
                return false;
            }
            fam = &out_.families[current_];
        }
        if (is_help) {
            if (fam->help_present) {
                return error_at(name_at, "duplicate HELP for a family");
            }
            fam->help = text;
            fam->help_present = true;
            return true;
        }
        if (fam->has_type) {
            return error_at(name_at, "duplicate TYPE for a family");
        }
        if (fam->samples.count != 0) {
            return error_at(name_at, "TYPE after samples of its family");
        }
        metric_type type{};
        if (!parse_type_name(text, type)) {
            return error_at(p < end ? p + 1 : p, "invalid metric type");
        }
        fam->type = type;
        fam->has_type = true;
        // The sample names a histogram or summary owns may not be families of their own.
        if (type == metric_type::histogram || type == metric_type::summary) {
            const bool clash =
                !seen_.insert(fam->name, "_count") || !seen_.insert(fam->name, "_sum") ||
                (type == metric_type::histogram && !seen_.insert(fam->name, "_bucket"));
            if (clash) {
                return error_at(name_at, "family name clashes with an earlier family");
            }
        }
        return true;
    }

    bool start_family(std::string_view name, const char* at, std::string_view reason) {
        if (!seen_.insert(name, {})) {
            return error_at(at, reason);
        }
        family fam;
        fam.name = name;
        fam.samples.first = static_cast<std::uint32_t>(out_.samples.size());
        current_ = static_cast<std::uint32_t>(out_.families.size());
        out_.families.push_back(fam);
        return true;
    }

    bool parse_sample(const char* p, const char* end) {
        const char* const name_at = p;
        failure f;
        name_token name;
        const auto first_label = static_cast<std::uint32_t>(out_.labels.size());
        if (has_class(*p, class_metric_start)) {
            const char* name_end = scan_name_chars(p + 1, end, true);
            name.text = std::string_view(p, static_cast<std::size_t>(name_end - p));
            p = skip_blanks(name_end, end);
            if (p == name_end && p < end && *p != '{') {
                return error_at(p, "invalid character in metric name");
            }
        } else if (*p != '{') {
            return error_at(p, "invalid metric name");
        }
        std::uint32_t raw_labels_size = 0;
        if (p < end && *p == '{') {
            const char* const brace = p;
            ++p;
            if (!parse_label_set<false>(p, end, out_.labels, &name, limits_, f)) {
                return error_at(f.at, f.reason);
            }
            if (name.text.empty()) {
                return error_at(name_at, "missing metric name");
            }
            if (raw_when_canonical_ && !name.quoted &&
                brace == name.text.data() + name.text.size()) {
                raw_labels_size = canonical_block_size(first_label, brace + 1, p - 1);
                if (raw_labels_size != 0) {
                    out_.labels.resize(first_label);  // never grows: no allocation
                }
            }
            p = skip_blanks(p, end);
        }
        const char* value_begin = p;
        while (p < end && *p != ' ' && *p != '\t' && *p != '{') {
            ++p;
        }
        if (p == value_begin) {
            return error_at(p, "missing value");
        }
        sample s;
        s.name = name.text;
        s.labels = {first_label, static_cast<std::uint32_t>(out_.labels.size()) - first_label};
        s.raw_labels_size = raw_labels_size;
        s.value_text = std::string_view(value_begin, static_cast<std::size_t>(p - value_begin));
        if (!parse_number(s.value_text, s.value)) {
            return error_at(value_begin, "invalid value");
        }
        p = skip_blanks(p, end);
        if (p < end) {
            const char* ts_begin = p;
            while (p < end && *p != ' ' && *p != '\t') {
                ++p;
            }
            s.timestamp_text = std::string_view(ts_begin, static_cast<std::size_t>(p - ts_begin));
            std::int64_t timestamp = 0;
            if (!parse_prometheus_timestamp(s.timestamp_text, timestamp)) {
                return error_at(ts_begin, "invalid timestamp (integer milliseconds expected)");
            }
            p = skip_blanks(p, end);
            if (p < end) {
                return error_at(p, "unexpected text after timestamp");
            }
        }
        if (out_.samples.size() >= limits_.max_samples) {
            return error_at(name_at, "more samples than the limit");
        }
        if (current_ == no_family || !belongs_to(s.name, out_.families[current_])) {
            if (!start_family(s.name, name_at,
                              "family not contiguous: samples of a family seen earlier")) {
                return false;
            }
        }
        ++out_.families[current_].samples.count;
        out_.samples.push_back(s);
        return true;
    }

    // The size of block [begin, end) (between the braces) when it is canonical: its labels,
    // labels[first...], are unquoted and unescaped and the block has nothing else (no blanks,
    // no trailing comma), which is so exactly when its length is the sum of `name="value"`
    // and the commas between them. 0 otherwise (and for an empty block).
    std::uint32_t canonical_block_size(std::uint32_t first, const char* begin,
                                       const char* end) const {
        const auto size = static_cast<std::size_t>(end - begin);
        if (first == out_.labels.size() || size > UINT32_MAX) {
            return 0;
        }
        std::size_t expected = out_.labels.size() - first - 1;
        for (std::size_t i = first; i < out_.labels.size(); ++i) {
            const label& l = out_.labels[i];
            if (l.name_was_quoted || l.value_has_escapes) {
                return 0;
            }
            expected += l.name.size() + l.value.size() + 3;
        }
        return expected == size ? static_cast<std::uint32_t>(size) : 0;
    }

    line_reader reader_;
    parsed_exposition& out_;
    parse_error& error_;
    const parse_limits& limits_;
    name_set& seen_;
    const char* line_begin_ = nullptr;
    std::uint32_t current_ = no_family;
    bool raw_when_canonical_;
};

}  // namespace

bool parse_prometheus(std::string_view input, parsed_exposition& out, parse_error& error,
                      const parse_limits& limits, label_storage storage) {
    // Per-thread scratch so that a steady-state parse allocates nothing.
    thread_local name_set seen;
    seen.clear();
    prometheus_parser parser(input, out, error, limits, storage, seen);
    return parser.run();
}

}  // namespace mgw::exposition::detail
