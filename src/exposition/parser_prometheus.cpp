// Prometheus text format 0.0.4 (and the quoted UTF-8 name syntax of text 1.0.0). As lenient as
// Prometheus' own parser on real bodies (blanks around tokens, trailing commas, free comments,
// HELP/TYPE in any order), but families must be contiguous and described at most once, because
// the model (and everything downstream that merges or re-emits it) relies on that.
//
// A lenient read (read_lenient) accepts what Prometheus ingests beyond that: a family that
// comes back further down is parsed as a continuation block, and the blocks are joined when the
// input ends; a block that cannot join (another TYPE, a clashing name) is skipped. Every family
// then goes through conform_family.
#include <cstdint>
#include <string_view>
#include <vector>

#include "parser_conform.hpp"
#include "parser_formats.hpp"
#include "parser_name_set.hpp"
#include "parser_number.hpp"
#include "same_bytes.hpp"

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
// a summary's quantiles with its _sum/_count per label set). A lenient read gives each name
// without metadata its own family instead, since it can join names that come back later.
bool belongs_to(std::string_view sample_name, const family& fam, bool lenient) {
    if (!fam.has_type) {
        return sample_name == fam.name ||
               (!lenient && base_name(sample_name) == base_name(fam.name));
    }
    if (sample_name.size() < fam.name.size() ||
        !same_bytes(sample_name.substr(0, fam.name.size()), fam.name)) {
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

// belongs_to with its commonest case inline: a sample named as its family (a counter's, a
// gauge's). A name of the family name's size belongs exactly when it is that name (with a TYPE
// the suffix is empty; without one, equal base names of equal-size names need equal suffixes).
inline bool continues_family(std::string_view sample_name, const family& fam, bool lenient) {
    if (sample_name.size() == fam.name.size()) {
        return same_bytes(sample_name, fam.name);
    }
    return belongs_to(sample_name, fam, lenient);
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

bool owns_suffixes(metric_type type) {
    return type == metric_type::histogram || type == metric_type::summary;
}

static_assert(first_block == no_family);

// Scratch of a lenient read, kept per thread like the name set.
struct lenient_scratch {
    // Per family entry: the family it continues, or first_block for a family's first block.
    std::vector<std::uint32_t> continues;
};

class prometheus_parser {
  public:
    prometheus_parser(std::string_view input, parsed_exposition& out, parse_error& error,
                      const parse_limits& limits, label_storage storage, name_set& seen,
                      leniency_report* report, lenient_scratch* scratch)
        : reader_(input, limits.max_line_bytes),
          out_(out),
          error_(error),
          limits_(limits),
          seen_(seen),
          raw_when_canonical_(storage == label_storage::raw_when_canonical),
          report_(report),
          lenient_(scratch) {}

    bool run() {
        const char* begin = nullptr;
        const char* end = nullptr;
        bool terminated = false;
        for (;;) {
            const auto status = reader_.next(begin, end, terminated);
            if (status == line_reader::status::end) {
                if (report_ != nullptr) {
                    finish_block();
                    join_blocks();
                }
                return true;
            }
            if (status == line_reader::status::too_long) {
                return report(error_, reader_.line_number(), begin, begin + limits_.max_line_bytes,
                              "line longer than the limit", errc::limit_exceeded);
            }
            line_begin_ = begin;
            if (!parse_line(begin, end)) {
                return false;
            }
        }
    }

  private:
    bool error_at(const char* at, std::string_view reason, errc code = errc::syntax_error) {
        return report(error_, reader_.line_number(), line_begin_, at, reason, code);
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
            return error_at(f.at, f.reason, f.code);
        }
        std::string_view text;
        if (p < end) {
            if (!has_class(*p, class_blank)) {
                return error_at(p, "invalid character in metric name");
            }
            text = std::string_view(p + 1, static_cast<std::size_t>(end - p - 1));
        }
        if (report_ != nullptr) {
            return lenient_metadata(is_help, name.text, text, p < end ? p + 1 : p);
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
                return error_at(name_at, "duplicate HELP for a family", errc::rule_violation);
            }
            fam->help = text;
            fam->help_present = true;
            return true;
        }
        if (fam->has_type) {
            return error_at(name_at, "duplicate TYPE for a family", errc::rule_violation);
        }
        if (fam->samples.count != 0) {
            return error_at(name_at, "TYPE after samples of its family", errc::rule_violation);
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
                return error_at(name_at, "family name clashes with an earlier family",
                                errc::rule_violation);
            }
        }
        return true;
    }

    bool start_family(std::string_view name, const char* at, std::string_view reason) {
        if (!seen_.insert(name, {})) {
            return error_at(at, reason, errc::rule_violation);
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
        std::uint64_t name_bits = 0;  // of a raw block's names (family::raw_label_name_bits)
        if (p < end && *p == '{') {
            const char* const brace = p;
            ++p;
            // A block right after a legacy name is nearly always canonical: read as such
            // first, and by the general reader when it is not.
            if (raw_when_canonical_ && !name.text.empty() &&
                brace == name.text.data() + name.text.size()) {
                raw_labels_size = scan_canonical_block(p, end, name_bits);
            }
            if (raw_labels_size == 0) {
                if (!parse_label_set<false>(p, end, out_.labels, &name, limits_, f)) {
                    return error_at(f.at, f.reason, f.code);
                }
                if (name.text.empty()) {
                    return error_at(name_at, "missing metric name");
                }
                if (raw_when_canonical_ && !name.quoted &&
                    brace == name.text.data() + name.text.size()) {
                    raw_labels_size =
                        canonical_block_size(first_label, brace + 1, p - 1, name_bits);
                    if (raw_labels_size != 0) {
                        // Shrinking: erase() is inlined where resize() is a call.
                        out_.labels.erase(out_.labels.begin() + first_label, out_.labels.end());
                    }
                }
            }
            p = skip_blanks(p, end);
        }
        const char* value_begin = p;
        p = scan_until(p, end, class_value_end);
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
            return error_at(name_at, "more samples than the limit", errc::limit_exceeded);
        }
        if (report_ != nullptr) {
            return lenient_sample(s, name_at, first_label, name_bits);
        }
        if (current_ == no_family || !continues_family(s.name, out_.families[current_], false)) {
            if (!start_family(s.name, name_at,
                              "family not contiguous: samples of a family seen earlier")) {
                return false;
            }
        }
        ++out_.families[current_].samples.count;
        out_.families[current_].raw_label_name_bits |= name_bits;
        out_.samples.push_back(s);
        return true;
    }

    // ---- lenient read ------------------------------------------------------------------

    // The family a block adds to: the block's own entry, or the family it continues.
    std::uint32_t target_of(std::uint32_t block) const {
        const std::uint32_t target = lenient_->continues[block];
        return target == no_family ? block : target;
    }

    bool lenient_metadata(bool is_help, std::string_view name, std::string_view text,
                          const char* type_at) {
        metric_type type = metric_type::unknown;
        if (!is_help && !parse_type_name(text, type)) {
            return error_at(type_at, "invalid metric type");
        }
        if (dropping_) {
            if (dropping_name_ == name) {
                return true;  // metadata of the block being skipped
            }
            dropping_ = false;
        } else if (current_ != no_family && out_.families[current_].name == name) {
            return apply_metadata(target_of(current_), is_help, text, type);
        }
        finish_block();
        const std::uint32_t owner = seen_.find(name, {});
        if (owner != name_set::absent && out_.families[owner].name != name) {
            // A name an earlier histogram or summary has for its samples (`h_count`).
            drop_block(name, is_help ? metric_type::unknown : type, !is_help, line_begin_,
                       "family whose name an earlier family's samples have");
            return true;
        }
        if (owner != name_set::absent) {
            start_block(owner, nullptr);
            return apply_metadata(owner, is_help, text, type);
        }
        if (!is_help && owns_suffixes(type) && suffixes_taken(name, type)) {
            drop_block(name, type, true, line_begin_,
                       "histogram or summary whose sample names earlier families have");
            return true;
        }
        new_family(name);
        return apply_metadata(current_, is_help, text, type);
    }

    // HELP or TYPE of family `f` met in one of its blocks (the current one).
    bool apply_metadata(std::uint32_t f, bool is_help, std::string_view text, metric_type type) {
        family& fam = out_.families[f];
        if (is_help) {
            // A repeated block's HELP stays with the block until the blocks are joined (the
            // block may yet turn out to have another TYPE).
            family& block = out_.families[current_];
            if (!block.help_present) {
                block.help = text;
                block.help_present = true;
            } else if (current_ == f) {
                report_->note(line_begin_, leniency_action::ignored,
                              "repeated HELP of a family: the first is kept");
            }
            return true;
        }
        if (fam.has_type) {
            if (fam.type == type) {
                if (out_.families[current_].samples.count == 0 && current_ != f) {
                    return true;  // the metadata of a repeated block, already noted joined
                }
                report_->note(line_begin_, leniency_action::ignored, "repeated TYPE of a family");
                return true;
            }
            drop_block(fam.name, type, true, line_begin_,
                       "repeated family with another TYPE: the first is kept");
            return true;
        }
        // No TYPE yet: the family's untyped samples so far take this one, as Prometheus
        // would type the samples that follow.
        if (owns_suffixes(type) && suffixes_taken(fam.name, type)) {
            drop_block(fam.name, type, true, line_begin_,
                       "histogram or summary whose sample names earlier families have");
            return true;
        }
        if (fam.samples.count != 0) {
            report_->note(line_begin_, leniency_action::repaired,
                          "TYPE after samples of its family: they take it");
        }
        fam.type = type;
        fam.has_type = true;
        register_suffixes(fam.name, type, f);
        family& block = out_.families[current_];
        block.type = type;
        block.has_type = true;
        return true;
    }

    bool suffixes_taken(std::string_view name, metric_type type) const {
        const std::uint32_t self = seen_.find(name, {});
        const auto taken = [&](std::string_view suffix) {
            const std::uint32_t owner = seen_.find(name, suffix);
            return owner != name_set::absent && owner != self;
        };
        return taken("_count") || taken("_sum") ||
               (type == metric_type::histogram && taken("_bucket"));
    }

    void register_suffixes(std::string_view name, metric_type type, std::uint32_t f) {
        if (!owns_suffixes(type)) {
            return;
        }
        seen_.emplace(name, "_count", f);
        seen_.emplace(name, "_sum", f);
        if (type == metric_type::histogram) {
            seen_.emplace(name, "_bucket", f);
        }
    }

    void new_family(std::string_view name) {
        family fam;
        fam.name = name;
        fam.samples.first = static_cast<std::uint32_t>(out_.samples.size());
        current_ = static_cast<std::uint32_t>(out_.families.size());
        out_.families.push_back(fam);
        lenient_->continues.push_back(no_family);
        seen_.emplace(name, {}, current_);
    }

    // A block of family `target` after other families: a new entry, joined at the end. It is
    // noted at its first sample (`at`, or the line that started it): a block of metadata only
    // adds nothing, and one that turns out to have another TYPE is noted as dropped.
    void start_block(std::uint32_t target, const char* at) {
        family block = out_.families[target];
        block.samples = {static_cast<std::uint32_t>(out_.samples.size()), 0};
        current_ = static_cast<std::uint32_t>(out_.families.size());
        out_.families.push_back(block);
        lenient_->continues.push_back(target);
        has_continuation_ = true;
        block_start_ = at != nullptr ? at : line_begin_;
        block_noted_ = false;
    }

    // Skips the block of `name` from here: its samples belong to no family.
    void drop_block(std::string_view name, metric_type type, bool has_type, const char* at,
                    std::string_view reason) {
        if (current_ != no_family && lenient_->continues[current_] != no_family) {
            out_.families[current_].help_present = false;  // the HELP of the skipped block
        }
        finish_block();
        dropping_ = true;
        dropping_name_ = name;
        dropping_family_ = family{};
        dropping_family_.name = name;
        dropping_family_.type = type;
        dropping_family_.has_type = has_type;
        report_->note(at, leniency_action::dropped_family, reason);
    }

    // The current block ends. A family's first block is repaired at once, while its samples
    // are the tail; a family with later blocks is repaired again once they are joined.
    void finish_block() {
        if (current_ != no_family && lenient_->continues[current_] == no_family) {
            conform_family(out_, out_.families[current_], *report_);
        }
        current_ = no_family;
    }

    bool lenient_sample(const sample& s, const char* name_at, std::uint32_t first_label,
                        std::uint64_t name_bits) {
        if (dropping_ && belongs_to(s.name, dropping_family_, true)) {
            out_.labels.resize(first_label);  // never grows: no allocation
            report_->note(name_at, leniency_action::dropped_sample,
                          "sample of a skipped family block", 1);
            return true;
        }
        dropping_ = false;
        if (current_ == no_family || !continues_family(s.name, out_.families[current_], true)) {
            finish_block();
            const std::uint32_t owner = owner_of(s.name);
            if (owner != name_set::absent) {
                start_block(owner, name_at);
            } else {
                new_family(s.name);
            }
        }
        if (!block_noted_ && lenient_->continues[current_] != no_family) {
            block_noted_ = true;
            report_->note(block_start_, leniency_action::joined,
                          "family repeated further down: joined to its first block");
        }
        ++out_.families[current_].samples.count;
        out_.families[current_].raw_label_name_bits |= name_bits;
        out_.samples.push_back(s);
        return true;
    }

    // The family whose samples may have this name: by the name itself, or by the suffix it
    // carries (`h_bucket` of histogram `h`); absent when none may.
    std::uint32_t owner_of(std::string_view name) const {
        const std::uint32_t owner = seen_.find(name, {});
        if (owner == name_set::absent) {
            return owner;
        }
        return belongs_to(name, out_.families[owner], true) ? owner : name_set::absent;
    }

    void join_blocks() {
        if (has_continuation_) {
            join_family_blocks(out_, lenient_->continues, *report_);
        }
    }

    // The size of the label block at p (just after its '{') when the block is canonical and
    // within the limits: distinct unquoted names, unescaped values, `name="value"` joined by
    // single commas and nothing else; p then moves past its '}'. Otherwise 0 and p unmoved, and
    // parse_label_set reads the block (and says what is wrong with it). Gives what
    // parse_label_set and canonical_block_size give such a block, without storing its labels
    // only to drop them: nearly every block of a fleet's bodies is read here.
    // `seen` gets the bit (label_name_bit) of every name of a canonical block.
    std::uint32_t scan_canonical_block(const char*& p, const char* end, std::uint64_t& seen) const {
        constexpr std::size_t max_names = 16;  // more labels: the general reader's work
        // Left uninitialized (a string_view array would be zeroed for every block): only the
        // first `count` are read.
        const char* name_data[max_names];
        std::size_t name_size[max_names];
        std::size_t count = 0;
        seen = 0;
        const char* q = p;
        for (;;) {
            if (q >= end || !has_class(*q, class_label_start)) {
                return 0;
            }
            const char* const name_end = scan_name_chars(q + 1, end, false);
            if (end - name_end < 2 || name_end[0] != '=' || name_end[1] != '"') {
                return 0;
            }
            const std::string_view name(q, static_cast<std::size_t>(name_end - q));
            bool escapes = false;
            const char* const close = scan_quoted(name_end + 2, end, escapes);
            if (close == nullptr || escapes ||
                static_cast<std::size_t>(close - name_end - 2) > limits_.max_label_value_bytes ||
                count == max_names || count >= limits_.max_labels_per_sample) {
                return 0;
            }
            // Names are compared only when one already seen has this one's size and first
            // letter (a bit of `seen`): rarely, in a block of distinct names.
            const std::uint64_t bit = std::uint64_t{1} << label_name_bit(name);
            if ((seen & bit) != 0) {
                for (std::size_t i = 0; i < count; ++i) {
                    if (same_bytes(std::string_view(name_data[i], name_size[i]), name)) {
                        return 0;
                    }
                }
            }
            seen |= bit;
            name_data[count] = name.data();
            name_size[count] = name.size();
            ++count;
            q = close + 1;
            if (q >= end) {
                return 0;
            }
            if (*q == '}') {
                break;
            }
            if (*q != ',') {
                return 0;
            }
            ++q;
        }
        const auto size = static_cast<std::size_t>(q - p);
        if (size > UINT32_MAX) {
            return 0;
        }
        p = q + 1;
        return static_cast<std::uint32_t>(size);
    }

    // The size of block [begin, end) (between the braces) when it is canonical: its labels,
    // labels[first...], are unquoted and unescaped and the block has nothing else (no blanks,
    // no trailing comma), which is so exactly when its length is the sum of `name="value"`
    // and the commas between them. 0 otherwise (and for an empty block). `bits` gets the bit
    // (label_name_bit) of every name.
    std::uint32_t canonical_block_size(std::uint32_t first, const char* begin, const char* end,
                                       std::uint64_t& bits) const {
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
            bits |= std::uint64_t{1} << label_name_bit(l.name);
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
    // Lenient read only.
    leniency_report* report_;
    lenient_scratch* lenient_;
    bool has_continuation_ = false;
    bool dropping_ = false;
    std::string_view dropping_name_;
    family dropping_family_;
    const char* block_start_ = nullptr;
    bool block_noted_ = false;
};

}  // namespace

bool parse_prometheus(std::string_view input, parsed_exposition& out, parse_error& error,
                      const parse_limits& limits, label_storage storage, leniency_report* report) {
    // Per-thread scratch so that a steady-state parse allocates nothing.
    thread_local name_set seen;
    thread_local lenient_scratch lenient;
    seen.clear();
    lenient.continues.clear();
    prometheus_parser parser(input, out, error, limits, storage, seen, report,
                             report != nullptr ? &lenient : nullptr);
    return parser.run();
}

}  // namespace mgw::exposition::detail
