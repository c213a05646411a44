// The repair step of a lenient read. One pass classifies every sample of the family (its part,
// the hashes of its label set and series, its timestamp and the per-sample rules) and checks
// OpenMetrics' per-metric rules in input order, as the OpenMetrics parser does; a family that
// passes (nearly all) is left untouched. Otherwise its metrics are rebuilt one label set at a
// time: samples brought together, duplicates and invalid samples dropped, histogram points
// ordered and completed, and the result checked again with the same rules.
#include "parser_conform.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <mgw/text/short_hash.hpp>

#include "label_identity.hpp"
#include "parser_group_set.hpp"
#include "parser_number.hpp"
#include "quote_mask.hpp"
#include "sample_part.hpp"

namespace mgw::exposition::detail {
namespace {

constexpr std::uint32_t none = UINT32_MAX;

// The label a sample's group leaves out (see excluded_label).
enum class excluded_kind : unsigned char { none, le, quantile, family_name };

// Filled field by field (no zeroing: a family's worth is rewritten for every family).
struct sample_facts {
    std::uint64_t group;           // label set without the excluded label (hash_groups())
    double bound;                  // a bucket's le
    double ts;                     // 0.0.4: milliseconds; OpenMetrics: seconds
    const char* drop_reason;       // set: the sample is invalid on its own
    const char* bad_group_reason;  // set: its whole metric is invalid
    bool has_ts;
    part kind;
    excluded_kind excluded;
    signed char fixed_le;  // +1 / -1: an infinite le to write as "+Inf" / "-Inf"
    // Where the excluded label is, empty when none: [begin, end) in a raw label block, else
    // [index, index + 1) in the sample's labels.
    std::uint32_t excluded_begin;
    std::uint32_t excluded_end;

    bool clean() const {
        return drop_reason == nullptr && bad_group_reason == nullptr && fixed_le == 0;
    }
};

// The numbers of le values already read in the family being checked: every metric of a
// histogram family repeats the same bounds, so most buckets find theirs here rather than parse
// it again. Direct-mapped; an entry counts only for the family that filled it (`family`, a
// serial never reused, so a text never outlives the input it points into).
class le_cache {
  public:
    void next_family() { ++family_; }

    // parse_number(text) and its result, read once per family and text.
    bool number(std::string_view text, double& out) {
        if (text.empty()) {
            return false;
        }
        entry& e = entries_[(text.size() * 31 + static_cast<unsigned char>(text.back()) * 7 +
                             static_cast<unsigned char>(text[text.size() / 2])) %
                            entries_.size()];
        if (e.family != family_ || !same_bytes(e.text, text)) {
            e.family = family_;
            e.text = text;
            e.ok = parse_number(text, e.value);
        }
        out = e.value;
        return e.ok;
    }

  private:
    struct entry {
        std::uint64_t family = 0;
        std::string_view text;
        double value = 0;
        bool ok = false;
    };
    std::array<entry, 64> entries_{};
    std::uint64_t family_ = 1;
};

struct conform_scratch {
    le_cache les;
    std::vector<sample_facts> facts;
    group_set groups;
    group_set series;
    std::vector<label> left;
    std::vector<label> right;
    std::vector<std::uint32_t> group_of;
    std::vector<std::uint32_t> group_size;
    std::vector<std::uint32_t> group_start;
    std::vector<std::uint32_t> order;
    std::vector<std::uint32_t> kept;
    std::vector<std::uint32_t> point;
    std::vector<std::uint32_t> buckets;
    std::vector<sample> rebuilt;
};

bool is_integer(double value) {
    // Every finite double of magnitude 2^52 or more is an integer; below, the conversion to
    // int64 is exact for integers (and no floor() call is made).
    if (!(std::fabs(value) < 0x1p52)) {
        return std::isfinite(value);
    }
    return value == static_cast<double>(static_cast<std::int64_t>(value));
}

bool is_counter_like(part kind) {
    switch (kind) {
        case part::total:
        case part::bucket:
        case part::count:
        case part::sum:
        case part::gcount:
        case part::gsum:
            return true;
        default:
            return false;
    }
}

// One label's part of the order-independent hash of a label set (group_hash): of its name and
// value as same_label compares them (a quoted name as a legacy reader sees it, a value
// unescaped), so that label sets same_group accepts hash alike.
std::uint64_t group_label_hash(const label& l) {
    if (plain(l)) {
        return text::short_text_hash(l.value, text::short_text_hash(l.name, 0x51A3));
    }
    thread_local std::string name_buffer;
    thread_local std::string value_buffer;
    return text::short_text_hash(
        canonical_label_value(l, value_buffer),
        text::short_text_hash(canonical_label_name(l, name_buffer), 0x51A3));
}

bool is_histogram(metric_type type) {
    return type == metric_type::histogram || type == metric_type::gaugehistogram;
}

// A metric of these types is several samples: one bad sample spoils the metric.
bool metric_spans_samples(metric_type type) {
    return type == metric_type::counter || type == metric_type::summary || is_histogram(type);
}

class conformer {
  public:
    conformer(parsed_exposition& out, family& fam, leniency_report& report,
              conform_scratch& scratch, std::span<const std::uint32_t> blocks)
        : out_(out),
          fam_(fam),
          report_(report),
          s_(scratch),
          blocks_(blocks),
          input_(out.source_format),
          first_(fam.samples.first),
          info_(fam.type == metric_type::info) {}

    void run() {
        const std::uint32_t n = fam_.samples.count;
        if (n == 0) {
            return;
        }
        const bool clean = classify();
        // A lone sample is one metric in order, so only its own rules apply; except for a
        // histogram, whose one sample must still be a whole point (a +Inf bucket at least).
        const bool lone = n == 1 && !is_histogram(fam_.type);
        if (clean && blocks_.size() < 2 && (lone || first_violation() == n)) {
            return;
        }
        rebuild();
        blocks_ = {};  // the rebuilt tail is one block
        if (!classify() || first_violation() != fam_.samples.count) {
            // The rules above missed a case: the family goes rather than an invalid answer.
            const char* at =
                fam_.samples.count != 0 ? out_.samples[first_].name.data() : fam_.name.data();
            report_.note_unrepairable(at, fam_.samples.count);
            out_.samples.resize(first_);
            fam_.samples.count = 0;
        }
    }

  private:
    const sample& at(std::uint32_t i) const { return out_.samples[first_ + i]; }

    // Fills s_.facts for the tail; false when some sample needs a change.
    bool classify() {
        const std::uint32_t n = fam_.samples.count;
        if (s_.facts.size() < n) {
            s_.facts.resize(n);  // grows only: the entries are rewritten whole below
        }
        bool clean = true;
        for (std::uint32_t i = 0; i < n; ++i) {
            classify(at(i), s_.facts[i]);
            clean = clean && s_.facts[i].clean();
        }
        return clean;
    }

    std::string_view excluded_name(const sample_facts& f) const {
        switch (f.excluded) {
            case excluded_kind::le:
                return "le";
            case excluded_kind::quantile:
                return "quantile";
            case excluded_kind::family_name:
                return fam_.name;
            case excluded_kind::none:
                break;
        }
        return {};
    }

    void classify(const sample& s, sample_facts& f) const {
        f.bound = 0;
        f.ts = 0;
        f.has_ts = false;
        f.drop_reason = nullptr;
        f.bad_group_reason = nullptr;
        f.fixed_le = 0;
        f.excluded_begin = 0;
        f.excluded_end = 0;
        // The parsers put in a family only samples whose name starts with the family's
        // (belongs_to, owns), as does the rebuild: the suffix alone tells the part.
        f.kind = s.name.size() >= fam_.name.size()
                     ? part_of_suffix(fam_, input_, s.name.substr(fam_.name.size()))
                     : part::foreign;
        const metric_type type = fam_.type;
        const std::string_view excluded = excluded_label(fam_, f.kind);
        f.excluded = excluded.empty()                ? excluded_kind::none
                     : f.kind == part::bucket        ? excluded_kind::le
                     : type == metric_type::stateset ? excluded_kind::family_name
                                                     : excluded_kind::quantile;
        // Only the excluded label and quoted names matter here; the hashes of the label set
        // are taken when a sample starts a new label set (first_violation) or the family is
        // rebuilt (hash_groups), not for every sample.
        const label* excluded_label = nullptr;
        label excluded_copy;
        bool quoted_names = false;
        if (s.has_raw_labels()) {
            // A raw block is canonical: no quoted name, no escape.
            if (!excluded.empty() && !last_raw_label_is(s.raw_labels(), excluded, f)) {
                const std::string_view block = s.raw_labels();
                for_each_raw_label(block, [&](const label& l) {
                    if (excluded_label == nullptr && same_bytes(l.name, excluded)) {
                        excluded_copy = l;
                        excluded_label = &excluded_copy;
                        f.excluded_begin = static_cast<std::uint32_t>(l.name.data() - block.data());
                        f.excluded_end = static_cast<std::uint32_t>(
                            l.value.data() + l.value.size() + 1 - block.data());  // past `"`
                    }
                });
            }
        } else {
            const label* l = out_.labels.data() + s.labels.first;
            for (const label* const end = l + s.labels.count; l != end; ++l) {
                if (!excluded.empty() && excluded_label == nullptr &&
                    same_bytes(l->name, excluded)) {
                    excluded_label = l;
                    f.excluded_begin =
                        static_cast<std::uint32_t>(l - out_.labels.data()) - s.labels.first;
                    f.excluded_end = f.excluded_begin + 1;
                    continue;
                }
                quoted_names = quoted_names || l->name_was_quoted;
            }
        }
        if (excluded_label == nullptr && f.excluded_begin != f.excluded_end && s.has_raw_labels()) {
            const std::string_view block = s.raw_labels();  // found last by last_raw_label_is
            const std::size_t value = f.excluded_begin + excluded.size() + 2;
            excluded_copy = label{block.substr(f.excluded_begin, excluded.size()),
                                  block.substr(value, f.excluded_end - 1 - value), false, false};
            excluded_label = &excluded_copy;
        }
        if (!s.timestamp_text.empty()) {
            f.has_ts = true;
            if (input_ == format::prometheus_text) {
                std::int64_t ms = 0;
                parse_prometheus_timestamp(s.timestamp_text, ms);
                f.ts = static_cast<double>(ms);
            } else {
                parse_number(s.timestamp_text, f.ts);
            }
        }

        const auto drop = [&](const char* reason) {
            if (metric_spans_samples(type) && f.kind != part::plain) {
                f.bad_group_reason = reason;
            } else {
                f.drop_reason = reason;
            }
        };
        if (quoted_names && names_coincide(s)) {
            f.drop_reason = "label names that coincide once escaped for legacy clients";
            return;
        }
        if (f.kind == part::foreign) {
            f.drop_reason = "sample name that its family's TYPE does not have";
            return;
        }
        if (type != metric_type::unknown && is_counter_like(f.kind)) {
            if (std::isnan(s.value)) {
                drop("counter-like value that is NaN");
                return;
            }
            if (s.value < 0 && f.kind != part::gsum) {
                drop("counter-like value that is negative");
                return;
            }
        }
        if ((f.kind == part::bucket || f.kind == part::count || f.kind == part::gcount) &&
            !is_integer(s.value)) {
            f.bad_group_reason = "bucket or count value that is not an integer";
            return;
        }
        switch (f.kind) {
            case part::bucket:
                if (excluded_label == nullptr || !read_le(*excluded_label, f)) {
                    f.bad_group_reason = "bucket without a valid le label";
                }
                break;
            case part::plain:
                if (type == metric_type::summary) {
                    if (excluded_label == nullptr || !valid_quantile(*excluded_label)) {
                        f.drop_reason = "quantile label missing or outside 0..1";
                    } else if (s.value < 0) {
                        f.drop_reason = "quantile value that is negative";
                    }
                } else if (type == metric_type::stateset) {
                    if (excluded_label == nullptr) {
                        f.drop_reason = "stateset sample without a label named after its family";
                    } else if (s.value != 0 && s.value != 1) {
                        f.drop_reason = "stateset value other than 0 or 1";
                    }
                }
                break;
            case part::info:
                if (s.value != 1) {
                    f.drop_reason = "info value other than 1";
                }
                break;
            default:
                break;
        }
    }

    // The hash of sample i's label set without its excluded label (0 for an info family,
    // whose samples are one metric): the sum of its labels' hashes, so independent of order.
    std::uint64_t group_hash(std::uint32_t i) const {
        if (info_) {
            return 0;
        }
        const std::string_view excluded = excluded_name(s_.facts[i]);
        bool skipped = false;
        std::uint64_t group = 0;
        const auto add = [&](const label& l) {
            if (!skipped && !excluded.empty() && same_bytes(l.name, excluded)) {
                skipped = true;  // the first label of that name, as classify finds it
                return;
            }
            group += group_label_hash(l);
        };
#if defined(__SSE2__)
        const sample& s = at(i);
        if (s.raw_labels_size >= 16 && s.raw_labels_size <= 64) {
            for_each_raw_label_by_quotes(s.raw_labels(), add);
            return group;
        }
#endif
        visit_labels(out_, at(i), add);
        return group;
    }

#if defined(__SSE2__)
    // for_each_raw_label for a block of 16 to 64 bytes: a canonical block has no escapes, so
    // its quotes are exactly the values' delimiters, found 16 bytes at a time into one 64-bit
    // mask and taken in pairs, where for_each_raw_label walks every byte for `=` and `"`.
    template <class Visit>
    static void for_each_raw_label_by_quotes(std::string_view block, Visit&& visit) {
        const char* base = block.data();
        std::uint64_t quotes = quote_mask(block);
        std::size_t start = 0;
        while (quotes != 0) {
            const auto open = static_cast<std::size_t>(std::countr_zero(quotes));
            quotes &= quotes - 1;
            const auto close = static_cast<std::size_t>(std::countr_zero(quotes));
            quotes &= quotes - 1;
            visit(label{std::string_view(base + start, open - 1 - start),
                        std::string_view(base + open + 1, close - open - 1), false, false});
            start = close + 2;  // past `",`
        }
    }
#endif

    // Fills facts[].group for every sample (the rebuild looks label sets up by it).
    void hash_groups() {
        for (std::uint32_t i = 0; i < fam_.samples.count; ++i) {
            s_.facts[i].group = group_hash(i);
        }
    }

    // Whether the last label of canonical raw block `block` is named `name` (where clients put
    // le and quantile); if so its place is recorded in f. Read backward: a raw block has no
    // escapes, so its last value lies between its last two quotes, and no name has a comma.
    static bool last_raw_label_is(std::string_view block, std::string_view name, sample_facts& f) {
        const std::size_t size = block.size();
        if (size < name.size() + 3 || block[size - 1] != '"') {
            return false;
        }
        std::size_t open = size - 1;
        do {
            --open;
        } while (open != 0 && block[open] != '"');
        if (open < name.size() + 1 || block[open - 1] != '=') {
            return false;
        }
        const std::size_t start = open - 1 - name.size();
        if ((start != 0 && block[start - 1] != ',') ||
            !same_bytes(block.substr(start, name.size()), name)) {
            return false;
        }
        f.excluded_begin = static_cast<std::uint32_t>(start);
        f.excluded_end = static_cast<std::uint32_t>(size);
        return true;
    }

    // Whether two label names of `s` are one name to a legacy client.
    bool names_coincide(const sample& s) const {
        std::vector<label>& labels = s_.left;
        labels.clear();
        visit_labels(out_, s, [&](const label& l) { labels.push_back(l); });
        for (std::size_t i = 0; i < labels.size(); ++i) {
            for (std::size_t j = i + 1; j < labels.size(); ++j) {
                if (same_label_name(labels[i], labels[j])) {
                    return true;
                }
            }
        }
        return false;
    }

    // OpenMetrics: a number, not NaN, infinities spelled `+Inf`/`-Inf`. A 0.0.4 source may spell
    // them as Go does (`inf`, `Infinity`): those are respelled.
    bool read_le(const label& le, sample_facts& f) const {
        std::string buffer;
        const std::string_view text = canonical_label_value(le, buffer);
        double bound = 0;
        // An unescaped value is a view of the input, which the cache may keep; an escaped one
        // is in `buffer`, which it may not.
        const bool number =
            le.value_has_escapes ? parse_number(text, bound) : s_.les.number(text, bound);
        if (!number || std::isnan(bound)) {
            return false;
        }
        if (std::isinf(bound) && text != "+Inf" && text != "-Inf") {
            if (input_ == format::openmetrics) {
                return false;
            }
            f.fixed_le = bound > 0 ? 1 : -1;
        } else if (le.value_has_escapes) {
            return false;  // a number never needs an escape; keep the rules simple
        }
        f.bound = bound;
        return true;
    }

    static bool valid_quantile(const label& q) {
        std::string buffer;
        const std::string_view text = canonical_label_value(q, buffer);
        double quantile = 0;
        return !q.value_has_escapes && parse_number(text, quantile) && !std::isnan(quantile) &&
               quantile >= 0 && quantile <= 1;
    }

    void gather(const sample& s, std::string_view excluded, std::vector<label>& into) const {
        into.clear();
        visit_labels(out_, s, [&](const label& l) {
            if (excluded.empty() || l.name != excluded) {
                into.push_back(l);
            }
        });
    }

    static bool same_label_sets(const std::vector<label>& a, const std::vector<label>& b) {
        if (a.size() != b.size()) {
            return false;
        }
        for (const label& l : a) {
            bool found = false;
            for (const label& r : b) {
                if (same_label(l, r)) {
                    found = true;
                    break;
                }
            }
            if (!found) {
                return false;
            }
        }
        return true;
    }

    // Labels of a sample in order, however stored, one at a time.
    class label_cursor {
      public:
        label_cursor(const parsed_exposition& src, const sample& s) {
            if (s.has_raw_labels()) {
                raw_ = s.raw_labels();
            } else {
                next_ = src.labels.data() + s.labels.first;
                end_ = next_ + s.labels.count;
            }
        }
        // False at the end.
        bool next(label& out) {
            if (next_ != nullptr) {
                if (next_ == end_) {
                    return false;
                }
                out = *next_++;
                return true;
            }
            if (raw_.empty()) {
                return false;
            }
            // A canonical raw block: name="value" pairs joined by single commas, no escapes.
            const std::size_t eq = raw_.find('=');
            const std::size_t close = raw_.find('"', eq + 2);
            out = label{raw_.substr(0, eq), raw_.substr(eq + 2, close - eq - 2), false, false};
            raw_.remove_prefix(std::min(close + 2, raw_.size()));
            return true;
        }

      private:
        const label* next_ = nullptr;
        const label* end_ = nullptr;
        std::string_view raw_;
    };

    // A canonical raw block without its excluded label, as two pieces: the labels before it
    // and those after, which joined are the canonical block of the labels that remain.
    struct block_text {
        std::string_view head;
        std::string_view tail;
        std::size_t size() const { return head.size() + tail.size(); }
    };

    block_text group_text(std::uint32_t i) const {
        const std::string_view block = at(i).raw_labels();
        const sample_facts& f = s_.facts[i];
        if (f.excluded_begin == f.excluded_end) {
            return {block, {}};
        }
        if (f.excluded_end < block.size()) {
            return {block.substr(0, f.excluded_begin), block.substr(f.excluded_end + 1)};
        }
        return {block.substr(0, f.excluded_begin == 0 ? 0 : f.excluded_begin - 1), {}};
    }

    static bool same_text(block_text a, block_text b) {
        if (a.size() != b.size()) {
            return false;
        }
        if (a.head.size() > b.head.size()) {
            std::swap(a, b);
        }
        // a.head is b.head's start; b.head's rest is a.tail's start; the rests are the tails.
        const std::size_t rest = b.head.size() - a.head.size();
        return b.head.substr(0, a.head.size()) == a.head &&
               a.tail.substr(0, rest) == b.head.substr(a.head.size()) &&
               a.tail.substr(rest) == b.tail;
    }

    // Whether samples i and j list the same labels in the same order (their excluded labels
    // aside), all plain: what consecutive samples of one metric nearly always do.
    bool same_group_in_order(std::uint32_t i, std::uint32_t j) const {
        const sample& si = at(i);
        const sample& sj = at(j);
        if (si.has_raw_labels() && sj.has_raw_labels()) {
            if (s_.facts[i].excluded_begin == s_.facts[i].excluded_end &&
                s_.facts[j].excluded_begin == s_.facts[j].excluded_end) {
                // Neither leaves a label out (a gauge's, a counter's): the blocks themselves.
                return same_bytes(si.raw_labels(), sj.raw_labels());
            }
            return same_text(group_text(i), group_text(j));
        }
        if (!si.has_raw_labels() && !sj.has_raw_labels()) {
            // Label by label, each sample's excluded label (found by classify) stepped over.
            const sample_facts& fi = s_.facts[i];
            const sample_facts& fj = s_.facts[j];
            const std::uint32_t ni = si.labels.count;
            const std::uint32_t nj = sj.labels.count;
            const std::uint32_t xi = fi.excluded_begin == fi.excluded_end ? ni : fi.excluded_begin;
            const std::uint32_t xj = fj.excluded_begin == fj.excluded_end ? nj : fj.excluded_begin;
            if (ni - (xi != ni ? 1 : 0) != nj - (xj != nj ? 1 : 0)) {
                return false;
            }
            const label* a = out_.labels.data() + si.labels.first;
            const label* b = out_.labels.data() + sj.labels.first;
            for (std::uint32_t p = 0, q = 0;; ++p, ++q) {
                p += p == xi ? 1 : 0;
                q += q == xj ? 1 : 0;
                if (p >= ni || q >= nj) {
                    return true;  // the counts match: both are at their ends
                }
                if (!plain(a[p]) || !plain(b[q]) || !same_bytes(a[p].name, b[q].name) ||
                    !same_bytes(a[p].value, b[q].value)) {
                    return false;
                }
            }
        }
        label_cursor a(out_, at(i));
        label_cursor b(out_, at(j));
        const std::string_view ea = excluded_name(s_.facts[i]);
        const std::string_view eb = excluded_name(s_.facts[j]);
        label la;
        label lb;
        for (;;) {
            bool more_a = a.next(la);
            while (more_a && !ea.empty() && same_bytes(la.name, ea)) {
                more_a = a.next(la);
            }
            bool more_b = b.next(lb);
            while (more_b && !eb.empty() && same_bytes(lb.name, eb)) {
                more_b = b.next(lb);
            }
            if (!more_a || !more_b) {
                return more_a == more_b;
            }
            if (!plain(la) || !plain(lb) || !same_bytes(la.name, lb.name) ||
                !same_bytes(la.value, lb.value)) {
                return false;
            }
        }
    }

    bool same_group(std::uint32_t i, std::uint32_t j) const {
        if (info_ || same_group_in_order(i, j)) {
            return true;
        }
        gather(at(i), excluded_name(s_.facts[i]), s_.left);
        gather(at(j), excluded_name(s_.facts[j]), s_.right);
        return same_label_sets(s_.left, s_.right);
    }

    // The hash of sample i's series: every label, its name and its timestamp.
    std::uint64_t series_hash(std::uint32_t i) const {
        const sample_facts& f = s_.facts[i];
        std::uint64_t seed = 0x7e57;
        if (f.has_ts) {
            seed = std::bit_cast<std::uint64_t>(f.ts == 0 ? 0.0 : f.ts) * 0xff51afd7ed558ccdULL;
        }
        std::uint64_t labels = 0;
        visit_labels(out_, at(i), [&](const label& l) { labels += label_hash(l); });
        return labels + hash_bytes(at(i).name, seed);
    }

    bool same_series(std::uint32_t i, std::uint32_t j) const {
        const sample_facts& a = s_.facts[i];
        const sample_facts& b = s_.facts[j];
        if (at(i).name != at(j).name || a.has_ts != b.has_ts || (a.has_ts && a.ts != b.ts)) {
            return false;
        }
        gather(at(i), {}, s_.left);
        gather(at(j), {}, s_.right);
        return same_label_sets(s_.left, s_.right);
    }

    // The state of one histogram point while its samples are checked in order.
    struct point_state {
        bool active = false;
        bool has_bucket = false;
        double last_bound = 0;
        double last_bucket_value = 0;
        bool has_count = false;
        double count = 0;
        bool negative_buckets = false;
        bool has_sum = false;
        bool has_gsum = false;
        bool negative_gsum = false;
    };

    static bool point_valid(const point_state& h) {
        if (!h.active) {
            return true;
        }
        if (!h.has_bucket || !std::isinf(h.last_bound) || h.last_bound < 0) {
            return false;
        }
        if (h.has_count && h.count != h.last_bucket_value) {
            return false;
        }
        if ((h.has_sum || h.has_gsum) && !h.has_count) {
            return false;
        }
        if (!h.has_sum && !h.has_gsum && h.has_count) {
            return false;
        }
        if (h.negative_buckets && h.has_sum) {
            return false;
        }
        return h.negative_buckets || !h.negative_gsum;
    }

    // The OpenMetrics parser's per-metric rules over the tail in order: the index of the first
    // sample that breaks one, or the sample count when none does.
    std::uint32_t first_violation() {
        const std::uint32_t n = fam_.samples.count;
        const bool histogram = is_histogram(fam_.type);
        s_.groups.clear();
        bool has_group = false;
        std::uint32_t current = 0;
        std::uint32_t start = 0;  // the current label set's first sample: its group is hashed
        point_state point;
        for (std::uint32_t i = 0; i < n; ++i) {
            sample_facts& f = s_.facts[i];
            if (!f.clean()) {
                return i;
            }
            const sample_facts& c = s_.facts[current];
            // The same label set as the sample before: nearly always spelled alike, in the same
            // order, which needs no hash. Otherwise its hash finds it (the samples so far are
            // clean: no two labels of one are one label, so label sets compare as sets and
            // "same label set" is transitive).
            bool same = has_group && (info_ || same_group_in_order(i, current));
            if (!same) {
                f.group = group_hash(i);
                same = has_group && f.group == s_.facts[start].group && same_group(i, start);
            }
            if (has_group && !same && s_.groups.find(f.group, [&](std::uint32_t other) {
                    return same_group(i, other);
                }) != none) {
                return i;  // the metric's samples are spread over the family
            }
            if (same) {
                if (f.has_ts != c.has_ts || (f.has_ts && c.ts > f.ts && !info_)) {
                    return i;
                }
            }
            if (histogram) {
                const bool new_point = !same || f.has_ts != c.has_ts || (f.has_ts && f.ts != c.ts);
                if (new_point) {
                    if (!point_valid(point)) {
                        return i;
                    }
                    point = point_state{};
                }
                point.active = true;
                const double value = at(i).value;
                switch (f.kind) {
                    case part::bucket:
                        if (point.has_bucket &&
                            (f.bound <= point.last_bound || value < point.last_bucket_value)) {
                            return i;
                        }
                        point.negative_buckets = point.negative_buckets || f.bound < 0;
                        point.has_bucket = true;
                        point.last_bound = f.bound;
                        point.last_bucket_value = value;
                        break;
                    case part::count:
                    case part::gcount:
                        point.has_count = true;
                        point.count = value;
                        break;
                    case part::sum:
                        point.has_sum = true;
                        break;
                    case part::gsum:
                        point.has_gsum = true;
                        point.negative_gsum = point.negative_gsum || value < 0;
                        break;
                    default:
                        break;
                }
            }
            if (!same) {
                s_.groups.insert(f.group, i);
                start = i;
            }
            has_group = true;
            current = i;
        }
        if (histogram && !point_valid(point)) {
            return n - 1;
        }
        return n;
    }

    void note(std::uint32_t i, leniency_action action, std::string_view reason,
              std::size_t dropped) {
        report_.note(at(i).name.data(), action, reason, dropped);
    }

    // Rebuilds the tail metric by metric into s_.rebuilt, then puts it in place.
    void rebuild() {
        const std::uint32_t n = fam_.samples.count;
        hash_groups();
        // Group ids in order of first appearance; a counting sort keeps each group's samples
        // in input order.
        s_.group_of.assign(n, 0);
        s_.group_size.clear();
        s_.groups.clear();
        for (std::uint32_t i = 0; i < n; ++i) {
            const std::uint32_t first = s_.groups.find(
                s_.facts[i].group, [&](std::uint32_t other) { return same_group(i, other); });
            if (first == none) {
                s_.groups.insert(s_.facts[i].group, i);
                s_.group_of[i] = static_cast<std::uint32_t>(s_.group_size.size());
                s_.group_size.push_back(1);
            } else {
                s_.group_of[i] = s_.group_of[first];
                ++s_.group_size[s_.group_of[i]];
            }
        }
        const auto groups = static_cast<std::uint32_t>(s_.group_size.size());
        s_.group_start.assign(groups + 1, 0);
        for (std::uint32_t g = 0; g < groups; ++g) {
            s_.group_start[g + 1] = s_.group_start[g] + s_.group_size[g];
        }
        s_.order.assign(n, 0);
        {
            std::vector<std::uint32_t>& next = s_.group_size;  // reused as write cursors
            for (std::uint32_t g = 0; g < groups; ++g) {
                next[g] = s_.group_start[g];
            }
            for (std::uint32_t i = 0; i < n; ++i) {
                s_.order[next[s_.group_of[i]]++] = i;
            }
        }
        if (groups > 1) {
            bool spread = false;
            for (std::uint32_t i = 1; i < n && !spread; ++i) {
                spread = s_.group_of[i] < s_.group_of[i - 1];
            }
            if (spread) {
                note(0, leniency_action::repaired,
                     "samples of one label set spread over the family, brought together", 0);
            }
        }
        s_.rebuilt.clear();
        for (std::uint32_t g = 0; g < groups; ++g) {
            rebuild_group(s_.group_start[g], s_.group_start[g + 1]);
        }
        out_.samples.resize(first_);
        out_.samples.insert(out_.samples.end(), s_.rebuilt.begin(), s_.rebuilt.end());
        fam_.samples.count = static_cast<std::uint32_t>(s_.rebuilt.size());
    }

    std::size_t block_of(std::uint32_t i) const {
        return static_cast<std::size_t>(std::upper_bound(blocks_.begin(), blocks_.end(), i) -
                                        blocks_.begin());
    }

    void rebuild_group(std::uint32_t begin, std::uint32_t end) {
        // A metric repeated in a later block (another registry's exposition): the first
        // block's is kept whole, not mixed with the others'.
        if (blocks_.size() > 1) {
            const std::size_t block = block_of(s_.order[begin]);
            std::uint32_t kept_end = begin;
            std::uint32_t first_repeat = none;
            for (std::uint32_t k = begin; k < end; ++k) {
                if (block_of(s_.order[k]) == block) {
                    s_.order[kept_end++] = s_.order[k];
                } else if (first_repeat == none) {
                    first_repeat = s_.order[k];
                }
            }
            if (first_repeat != none) {
                note(first_repeat, leniency_action::dropped_sample,
                     "metric repeated in a later block of its family: the first is kept",
                     end - kept_end);
                end = kept_end;
            }
        }
        const std::uint32_t size = end - begin;
        for (std::uint32_t k = begin; k < end; ++k) {
            const std::uint32_t i = s_.order[k];
            if (s_.facts[i].bad_group_reason != nullptr) {
                note(i, leniency_action::dropped_metric, s_.facts[i].bad_group_reason, size);
                return;
            }
        }
        // Invalid samples and repeated series go; the first of a series is kept.
        std::vector<std::uint32_t>& kept = s_.kept;
        kept.clear();
        s_.series.clear();
        for (std::uint32_t k = begin; k < end; ++k) {
            const std::uint32_t i = s_.order[k];
            const sample_facts& f = s_.facts[i];
            if (f.drop_reason != nullptr) {
                note(i, leniency_action::dropped_sample, f.drop_reason, 1);
                continue;
            }
            const std::uint64_t series = series_hash(i);
            if (s_.series.find(
                    series, [&](std::uint32_t other) { return same_series(i, other); }) != none) {
                note(i, leniency_action::dropped_sample, "repeated series: the first is kept", 1);
                continue;
            }
            s_.series.insert(series, i);
            kept.push_back(i);
        }
        if (kept.empty()) {
            return;
        }
        // One metric either stamps every sample or none, and never goes back in time.
        const bool stamped = s_.facts[kept.front()].has_ts;
        double latest = s_.facts[kept.front()].ts;
        std::size_t out = 0;
        for (const std::uint32_t i : kept) {
            const sample_facts& f = s_.facts[i];
            if (f.has_ts != stamped) {
                note(i, leniency_action::dropped_sample,
                     "timestamp present on some samples of a metric only", 1);
                continue;
            }
            if (stamped && f.ts < latest && !info_) {
                note(i, leniency_action::dropped_sample, "timestamp earlier than the metric's last",
                     1);
                continue;
            }
            latest = std::max(latest, f.ts);
            kept[out++] = i;
        }
        kept.resize(out);
        if (!is_histogram(fam_.type)) {
            for (const std::uint32_t i : kept) {
                emit(i);
            }
            return;
        }
        // Histogram points: runs of one timestamp. Checked whole first: a bad point drops
        // the metric, so nothing is emitted before every point passed.
        const std::size_t mark = s_.rebuilt.size();
        std::size_t p = 0;
        while (p < kept.size()) {
            std::size_t q = p + 1;
            while (q < kept.size() && s_.facts[kept[q]].ts == s_.facts[kept[p]].ts) {
                ++q;
            }
            if (!rebuild_point(p, q)) {
                s_.rebuilt.resize(mark);
                return;
            }
            p = q;
        }
    }

    // One histogram point, kept[p..q), emitted buckets first. False when it cannot be made
    // valid (the caller drops the metric).
    bool rebuild_point(std::size_t p, std::size_t q) {
        std::vector<std::uint32_t>& buckets = s_.buckets;
        std::vector<std::uint32_t>& others = s_.point;
        buckets.clear();
        others.clear();
        for (std::size_t k = p; k < q; ++k) {
            const std::uint32_t i = s_.kept[k];
            (s_.facts[i].kind == part::bucket ? buckets : others).push_back(i);
        }
        const std::uint32_t metric_first = s_.kept[p];
        const std::size_t metric_size = s_.kept.size();
        // By le, then input order (a stable order without stable_sort's buffer); usually the
        // buckets are in order already.
        const auto before = [&](std::uint32_t a, std::uint32_t b) {
            return s_.facts[a].bound < s_.facts[b].bound ||
                   (s_.facts[a].bound == s_.facts[b].bound && a < b);
        };
        if (!std::is_sorted(buckets.begin(), buckets.end(), before)) {
            std::sort(buckets.begin(), buckets.end(), before);
        }
        std::size_t out = 0;
        for (std::size_t k = 0; k < buckets.size(); ++k) {
            if (out != 0 && s_.facts[buckets[k]].bound == s_.facts[buckets[out - 1]].bound) {
                note(buckets[k], leniency_action::dropped_sample,
                     "bucket whose le repeats another's: the first is kept", 1);
                continue;
            }
            if (out != 0 && at(buckets[k]).value < at(buckets[out - 1]).value) {
                note(metric_first, leniency_action::dropped_metric,
                     "histogram whose buckets are not cumulative", metric_size);
                return false;
            }
            buckets[out++] = buckets[k];
        }
        buckets.resize(out);
        std::uint32_t count = none;
        std::uint32_t sum = none;
        bool negative_buckets = false;
        for (const std::uint32_t b : buckets) {
            negative_buckets = negative_buckets || s_.facts[b].bound < 0;
        }
        for (const std::uint32_t i : others) {
            const part kind = s_.facts[i].kind;
            if (kind == part::count || kind == part::gcount) {
                count = i;
            } else if (kind == part::sum || kind == part::gsum) {
                sum = i;
            }
        }
        const bool has_inf = !buckets.empty() && std::isinf(s_.facts[buckets.back()].bound) &&
                             s_.facts[buckets.back()].bound > 0;
        bool synthesize = false;
        if (!has_inf) {
            const double floor = buckets.empty() ? 0.0 : at(buckets.back()).value;
            if (count == none || !is_integer(at(count).value) || at(count).value < floor ||
                has_label(at(count), "le")) {
                note(metric_first, leniency_action::dropped_metric,
                     "histogram without a +Inf bucket, and no _count to make one from",
                     metric_size);
                return false;
            }
            synthesize = true;
        }
        const double inf_value = synthesize ? at(count).value : at(buckets.back()).value;
        if (count != none && at(count).value != inf_value) {
            note(metric_first, leniency_action::dropped_metric,
                 "histogram _count that differs from its +Inf bucket", metric_size);
            return false;
        }
        // OpenMetrics: no _sum with negative buckets; a negative _gsum only with them; _sum
        // (_gsum) and _count (_gcount) together or not at all.
        bool drop_sum = false;
        bool drop_count = false;
        if (sum != none && fam_.type == metric_type::histogram && negative_buckets) {
            drop_sum = drop_count = true;
            note(sum, leniency_action::dropped_sample,
                 "_sum and _count of a histogram with negative buckets", count != none ? 2 : 1);
        } else if (sum != none && fam_.type == metric_type::gaugehistogram && !negative_buckets &&
                   at(sum).value < 0) {
            drop_sum = drop_count = true;
            note(sum, leniency_action::dropped_sample,
                 "negative _gsum of a gauge histogram without negative buckets",
                 count != none ? 2 : 1);
        } else if (sum != none && count == none) {
            drop_sum = true;
            note(sum, leniency_action::dropped_sample, "histogram _sum without a _count", 1);
        } else if (count != none && sum == none) {
            drop_count = true;
            note(count, leniency_action::dropped_sample, "histogram _count without a _sum", 1);
        }
        for (const std::uint32_t b : buckets) {
            emit(b);
        }
        if (synthesize) {
            synthesize_inf(count, buckets.empty() ? none : buckets.front());
        }
        for (const std::uint32_t i : others) {
            if ((drop_sum && i == sum) || (drop_count && i == count)) {
                continue;
            }
            emit(i);
        }
        return true;
    }

    bool has_label(const sample& s, std::string_view name) const {
        bool found = false;
        visit_labels(out_, s, [&](const label& l) { found = found || l.name == name; });
        return found;
    }

    // Appends sample i to the rebuilt tail, with its le respelled when it must be.
    void emit(std::uint32_t i) {
        sample s = at(i);
        const std::string_view fixed = s_.facts[i].fixed_le == 0  ? std::string_view()
                                       : s_.facts[i].fixed_le > 0 ? "+Inf"
                                                                  : "-Inf";
        if (!fixed.empty()) {
            gather(s, {}, s_.left);
            const auto first = static_cast<std::uint32_t>(out_.labels.size());
            for (label l : s_.left) {
                if (l.name == "le") {
                    l.value = fixed;
                    l.value_has_escapes = false;
                }
                out_.labels.push_back(l);
            }
            s.labels = {first, static_cast<std::uint32_t>(s_.left.size())};
            s.raw_labels_size = 0;
            note(i, leniency_action::repaired, "infinite le spelled +Inf or -Inf", 0);
        }
        s_.rebuilt.push_back(s);
    }

    // A `+Inf` bucket with the value, labels and timestamp of _count sample `count`.
    void synthesize_inf(std::uint32_t count, std::uint32_t some_bucket) {
        const sample& c = at(count);
        sample s;
        if (some_bucket != none) {
            s.name = at(some_bucket).name;
        } else {
            s.name = out_.synthesized_text.emplace_back(std::string(fam_.name) + "_bucket");
        }
        gather(c, {}, s_.left);
        const auto first = static_cast<std::uint32_t>(out_.labels.size());
        out_.labels.insert(out_.labels.end(), s_.left.begin(), s_.left.end());
        out_.labels.push_back(label{"le", "+Inf", false, false});
        s.labels = {first, static_cast<std::uint32_t>(s_.left.size() + 1)};
        s.value_text = c.value_text;
        s.value = c.value;
        s.timestamp_text = c.timestamp_text;
        note(count, leniency_action::repaired,
             "histogram without a +Inf bucket: one made from its _count", 0);
        s_.rebuilt.push_back(s);
    }

    parsed_exposition& out_;
    family& fam_;
    leniency_report& report_;
    conform_scratch& s_;
    std::span<const std::uint32_t> blocks_;
    const format input_;
    const std::uint32_t first_;
    const bool info_;
};

}  // namespace

void conform_family(parsed_exposition& out, family& fam, leniency_report& report,
                    std::span<const std::uint32_t> blocks) {
    thread_local conform_scratch scratch;
    scratch.les.next_family();
    conformer(out, fam, report, scratch, blocks).run();
}

void join_family_blocks(parsed_exposition& out, const std::vector<std::uint32_t>& continues,
                        leniency_report& report) {
    const auto entries = static_cast<std::uint32_t>(out.families.size());
    bool any = false;
    for (std::uint32_t i = 0; i < entries && !any; ++i) {
        any = continues[i] != first_block;
    }
    if (!any) {
        return;
    }
    struct join_scratch {
        std::vector<std::uint32_t> next_block;
        std::vector<std::uint32_t> last_block;
        std::vector<sample> samples;
        std::vector<family> families;
        std::vector<std::uint32_t> block_starts;
    };
    thread_local join_scratch j;
    j.next_block.assign(entries, first_block);
    j.last_block.assign(entries, first_block);
    for (std::uint32_t i = 0; i < entries; ++i) {
        const std::uint32_t target = continues[i];
        if (target == first_block) {
            continue;
        }
        if (j.last_block[target] == first_block) {
            j.next_block[target] = i;
        } else {
            j.next_block[j.last_block[target]] = i;
        }
        j.last_block[target] = i;
    }
    // The blocks are copied out and the joined families rebuilt in out's own vectors, so that
    // each joined family is the tail while conform_family repairs it.
    j.samples.swap(out.samples);
    j.families.swap(out.families);
    out.samples.clear();
    out.families.clear();
    for (std::uint32_t i = 0; i < entries; ++i) {
        if (continues[i] != first_block) {
            continue;
        }
        family fam = j.families[i];
        const auto start = static_cast<std::uint32_t>(out.samples.size());
        j.block_starts.clear();
        for (std::uint32_t block = i; block != first_block; block = j.next_block[block]) {
            const index_range r = j.families[block].samples;
            j.block_starts.push_back(static_cast<std::uint32_t>(out.samples.size()) - start);
            out.samples.insert(out.samples.end(), j.samples.begin() + r.first,
                               j.samples.begin() + r.first + r.count);
        }
        fam.samples = {start, static_cast<std::uint32_t>(out.samples.size()) - start};
        // Metadata a first block lacks comes from the first later block that has it.
        for (std::uint32_t block = j.next_block[i]; block != first_block;
             block = j.next_block[block]) {
            const family& later = j.families[block];
            fam.raw_label_name_bits |= later.raw_label_name_bits;
            if (!fam.help_present && later.help_present) {
                fam.help = later.help;
                fam.help_present = true;
            }
            if (fam.unit.empty()) {
                fam.unit = later.unit;
            }
        }
        out.families.push_back(fam);
        if (j.next_block[i] != first_block) {
            conform_family(out, out.families.back(), report, j.block_starts);
        }
    }
}

}  // namespace mgw::exposition::detail
