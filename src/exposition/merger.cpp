// Exposition merger: family grouping across sources with an open-addressing index over
// string_views, and a resumable cursor that writes the merged exposition in bounded chunks.
#include <algorithm>
#include <array>
#include <bit>
#include <span>

#include <mgw/exposition/merger.hpp>
#include <mgw/exposition/sample_lines.hpp>

#include "label_identity.hpp"
#include "parser_group_set.hpp"
#include "parser_lexer.hpp"
#include "sample_line.hpp"
#include "sample_part.hpp"
#include "sample_writer.hpp"

namespace mgw::exposition {
namespace {

constexpr std::uint32_t no_member = UINT32_MAX;

// FNV-1a over base+suffix, so a composed name is looked up without building it.
std::uint64_t hash_name(std::string_view base, std::string_view suffix) {
    std::uint64_t h = 1469598103934665603ULL;
    for (const std::string_view part : {base, suffix}) {
        for (char c : part) {
            h ^= static_cast<unsigned char>(c);
            h *= 1099511628211ULL;
        }
    }
    return h;
}

bool same_name(std::string_view a_base, std::string_view a_suffix, std::string_view b_base,
               std::string_view b_suffix) {
    if (a_base.size() + a_suffix.size() != b_base.size() + b_suffix.size()) {
        return false;
    }
    const auto char_at = [](std::string_view base, std::string_view suffix, std::size_t i) {
        return i < base.size() ? base[i] : suffix[i - base.size()];
    };
    for (std::size_t i = 0; i < a_base.size() + a_suffix.size(); ++i) {
        if (char_at(a_base, a_suffix, i) != char_at(b_base, b_suffix, i)) {
            return false;
        }
    }
    return true;
}

// The sample-name suffixes a family of `type` owns in OpenMetrics, besides its own name.
std::span<const std::string_view> openmetrics_suffixes(metric_type type) {
    static constexpr std::string_view counter[] = {"_total", "_created"};
    static constexpr std::string_view histogram[] = {"_count", "_sum", "_bucket", "_created"};
    static constexpr std::string_view gaugehistogram[] = {"_gcount", "_gsum", "_bucket"};
    static constexpr std::string_view summary[] = {"_count", "_sum", "_created"};
    static constexpr std::string_view info[] = {"_info"};
    switch (type) {
        case metric_type::counter:
            return counter;
        case metric_type::histogram:
            return histogram;
        case metric_type::gaugehistogram:
            return gaugehistogram;
        case metric_type::summary:
            return summary;
        case metric_type::info:
            return info;
        default:
            return {};
    }
}

// The same in Prometheus text (a gauge histogram is written as a histogram).
std::span<const std::string_view> text_suffixes(metric_type type) {
    static constexpr std::string_view histogram[] = {"_count", "_sum", "_bucket"};
    static constexpr std::string_view summary[] = {"_count", "_sum"};
    switch (type) {
        case metric_type::histogram:
        case metric_type::gaugehistogram:
            return histogram;
        case metric_type::summary:
            return summary;
        default:
            return {};
    }
}

// The format-independent name a member is reported under.
std::string_view reported_name(const parsed_exposition& src, const family& f,
                               std::string_view only_name) {
    return only_name.empty() ? canonical_family_name(f, src.source_format) : only_name;
}

}  // namespace

struct merger::dedupe_state {
    // Per source: its injected names (in order) and labels, hashed.
    std::vector<std::uint64_t> names_hash;
    std::vector<std::uint64_t> values_hash;
    std::vector<std::uint64_t> injected_sum;  // order-independent, as label sets compare
    // Per member of the group being written: the ordinal of its first sample.
    std::vector<std::uint32_t> member_offset;
    // The group's members kept as lines, all expanded at once (their samples are compared
    // across members): where each member's samples start in `expanded`.
    std::vector<sample> expanded;
    std::vector<std::uint32_t> expanded_at;
    // Per ordinal (the group's samples, member by member).
    std::vector<std::uint8_t> skip;
    std::vector<std::uint32_t> ordinal_member;
    std::vector<std::uint32_t> ordinal_sample;
    detail::group_set metrics;  // metric key -> ordinal of its first sample
    std::vector<std::uint32_t> source_mark;
    std::vector<std::uint64_t> group_values;
    std::vector<label> left;
    std::vector<label> right;
    std::string left_text;
    std::string right_text;
};

merger::merger(merge_options options)
    : options_(options), dedupe_(std::make_unique<dedupe_state>()) {}

merger::~merger() = default;
merger::merger(merger&&) noexcept = default;
merger& merger::operator=(merger&&) noexcept = default;

void merger::add_source(const parsed_exposition& exposition, std::span<const label> injected) {
    sources_.push_back({&exposition, injected});
}

void merger::clear() {
    sources_.clear();
    members_.clear();
    groups_.clear();
    conflicts_.clear();
    escaped_names_.clear();
    phase_ = phase::done;
}

std::uint32_t merger::find_group(std::string_view base, std::string_view suffix,
                                 std::size_t& slot) const {
    const std::size_t mask = slots_.size() - 1;
    slot = hash_name(base, suffix) & mask;
    while (slots_[slot] != 0) {
        const std::uint32_t index = slots_[slot] - 1;
        const group& g = groups_[index];
        if (same_name(g.key, g.key_suffix, base, suffix)) {
            return index;
        }
        slot = (slot + 1) & mask;
    }
    return no_member;
}

// The name as the output writes it: escaped for a legacy client when it is not a legacy name.
std::string_view merger::written_name(std::string_view name) {
    if (writer_options_.utf8_names || is_legacy_metric_name(name)) {
        return name;
    }
    std::string& escaped = escaped_names_.emplace_back();
    append_escaped_name(escaped, name, true, false);
    return escaped;
}

void merger::drop_group(std::uint32_t dropped, const group& kept) {
    group& g = groups_[dropped];
    g.dropped = true;
    for (std::uint32_t m = g.first_member; m != no_member; m = members_[m].next) {
        const member& mm = members_[m];
        const parsed_exposition& src = *sources_[mm.source].exposition;
        conflicts_.push_back({mm.source, reported_name(src, src.families[mm.family], mm.only_name),
                              kept.type, g.type});
    }
}

// Registers a name `group` writes; false (and nothing registered) when another group has it.
bool merger::occupy(std::uint32_t group, std::string_view base, std::string_view suffix) {
    const std::size_t mask = occupied_slots_.size() - 1;
    std::size_t slot = hash_name(base, suffix) & mask;
    while (occupied_slots_[slot] != 0) {
        const occupied_name& o = occupied_[occupied_slots_[slot] - 1];
        if (same_name(o.base, o.suffix, base, suffix)) {
            return o.group == group;
        }
        slot = (slot + 1) & mask;
    }
    occupied_.push_back({base, suffix, group});
    occupied_slots_[slot] = static_cast<std::uint32_t>(occupied_.size());
    return true;
}

// Families that are distinct in one format can clash in the other: a 0.0.4 gauge `a` and
// counter `a_total` (every Go client exposes go_memstats_alloc_bytes and ..._total) are both
// family `a` in OpenMetrics; an OpenMetrics counter `a` and a gauge `a_total` both write
// `a_total`; client_python's 0.0.4 gauge `h_created` is the `_created` of histogram `h` in
// OpenMetrics; a gauge `h_count` and a histogram `h` clash in both; so do `a.b` and `a_b` for
// a legacy client. Every name each family writes (its own, its samples', the gauges split
// off it in 0.0.4) is registered in family order; a family that needs a name already taken
// is left out, so the first-seen family of a clashing pair is kept.
void merger::drop_clashing_groups() {
    const bool om = writer_options_.output == format::openmetrics;
    occupied_.clear();
    occupied_slots_.assign(std::bit_ceil(groups_.size() * 12 + 2), 0);
    const auto group_count = static_cast<std::uint32_t>(groups_.size());
    for (std::uint32_t gi = 0; gi < group_count; ++gi) {
        const group& g = groups_[gi];
        if (g.dropped) {
            continue;
        }
        std::array<std::pair<std::string_view, std::string_view>, 8> names{};
        std::size_t count = 0;
        names[count++] = {g.key, g.key_suffix};
        for (const std::string_view suffix :
             om ? openmetrics_suffixes(g.type) : text_suffixes(g.type)) {
            names[count++] = {g.key, suffix};
        }
        if (!om && g.has_openmetrics_member) {
            for (const om_extra extra : om_extras_in_output_order) {
                const bool applies = extra == om_extra::created
                                         ? g.type == metric_type::counter ||
                                               g.type == metric_type::histogram ||
                                               g.type == metric_type::summary
                                         : g.type == metric_type::gaugehistogram;
                if (applies) {
                    names[count++] = {g.extra_base, om_extra_suffix(extra)};
                }
            }
        }
        // All or nothing: a family left out must not keep names from later ones.
        std::uint32_t taken_by = no_member;
        for (std::size_t i = 0; i < count && taken_by == no_member; ++i) {
            const auto& [base, suffix] = names[i];
            const std::size_t mask = occupied_slots_.size() - 1;
            for (std::size_t slot = hash_name(base, suffix) & mask; occupied_slots_[slot] != 0;
                 slot = (slot + 1) & mask) {
                const occupied_name& o = occupied_[occupied_slots_[slot] - 1];
                if (o.group != gi && same_name(o.base, o.suffix, base, suffix)) {
                    taken_by = o.group;
                    break;
                }
            }
        }
        if (taken_by != no_member) {
            drop_group(gi, groups_[taken_by]);
            continue;
        }
        for (std::size_t i = 0; i < count; ++i) {
            occupy(gi, names[i].first, names[i].second);
        }
    }
}

void merger::start(const writer_options& options) {
    writer_options_ = options;
    members_.clear();
    groups_.clear();
    conflicts_.clear();
    escaped_names_.clear();
    duplicates_skipped_ = 0;
    const bool om = options.output == format::openmetrics;

    std::size_t family_total = 0;
    for (const source_ref& s : sources_) {
        family_total += s.exposition->families.size();
    }
    // At most half full, so probes stay short; assign() keeps the capacity across merges.
    slots_.assign(std::bit_ceil(family_total * 2 + 2), 0);
    members_.reserve(family_total);

    rendered_injected_.clear();
    prepared_.clear();
    std::vector<std::size_t>& offsets = injected_offsets_;
    offsets.clear();
    for (const source_ref& s : sources_) {
        offsets.push_back(rendered_injected_.size());
        render_labels(rendered_injected_, s.injected, writer_options_);
    }
    offsets.push_back(rendered_injected_.size());
    for (std::size_t i = 0; i < sources_.size(); ++i) {
        const std::string_view all(rendered_injected_);
        prepared_.push_back({sources_[i].injected,
                             all.substr(offsets[i], offsets[i + 1] - offsets[i]),
                             name_length_bits(sources_[i].injected)});
    }

    dedupe_state& d = *dedupe_;
    d.names_hash.clear();
    d.values_hash.clear();
    d.injected_sum.clear();
    for (std::size_t i = 0; i < sources_.size(); ++i) {
        std::uint64_t names = 0x1234;
        std::uint64_t sum = 0;
        for (const label& l : sources_[i].injected) {
            names = detail::hash_bytes(l.name, names);
            sum += detail::label_hash(l);
        }
        d.names_hash.push_back(names ^ sources_[i].injected.size());
        d.values_hash.push_back(detail::hash_bytes(prepared_[i].rendered, 0x5eed));
        d.injected_sum.push_back(sum);
    }
    d.source_mark.assign(sources_.size(), 0);

    for (std::uint32_t si = 0; si < sources_.size(); ++si) {
        const parsed_exposition& src = *sources_[si].exposition;
        for (std::uint32_t fi = 0; fi < src.families.size(); ++fi) {
            const family& f = src.families[fi];
            std::span<const sample> samples;
            if (f.type == metric_type::unknown) {
                samples = family_samples(src, f);
            }
            if (f.type != metric_type::unknown || !has_foreign_sample_names(f, samples)) {
                // Keyed by the name the output writes.
                std::string_view key = canonical_family_name(f, src.source_format);
                std::string_view key_suffix;
                if (!om) {
                    key = f.name;
                    if (src.source_format == format::openmetrics &&
                        f.type == metric_type::counter) {
                        key_suffix = "_total";
                    } else if (src.source_format == format::openmetrics &&
                               f.type == metric_type::info) {
                        key_suffix = "_info";
                    }
                }
                add_member(si, fi, written_name(key), key_suffix, {});
                continue;
            }
            // An untyped family holding `x`, `x_sum`, `x_count`...: every sample of an unknown
            // family must carry the family's name in OpenMetrics, so each name becomes its own
            // family, as client_golang's text parser reads such input.
            for (std::size_t i = 0; i < samples.size(); ++i) {
                bool seen = false;
                for (std::size_t j = 0; j < i && !seen; ++j) {
                    seen = samples[j].name == samples[i].name;
                }
                if (!seen) {
                    add_member(si, fi, written_name(samples[i].name), {}, samples[i].name);
                }
            }
        }
    }
    drop_clashing_groups();
    d.member_offset.assign(members_.size(), 0);
    d.expanded_at.assign(members_.size(), 0);
    expanded_member_ = no_member;
    dedupe_group_ = false;
    group_ = 0;
    skip_dropped_groups();
    phase_ = group_ < groups_.size() ? phase::header : phase::trailer;
}

std::size_t merger::family_count() const {
    std::size_t count = 0;
    for (const group& g : groups_) {
        count += g.dropped ? 0 : 1;
    }
    return count;
}

std::span<const sample> merger::family_samples(const parsed_exposition& src, const family& f) {
    if (!f.samples_as_lines) {
        return std::span<const sample>(src.samples).subspan(f.samples.first, f.samples.count);
    }
    expanded_member_ = no_member;
    expanded_.clear();
    expand_samples(src, f, expanded_);
    return expanded_;
}

std::span<const sample> merger::samples_of(std::uint32_t m) {
    const member& mm = members_[m];
    const parsed_exposition& src = *sources_[mm.source].exposition;
    const family& f = src.families[mm.family];
    if (!f.samples_as_lines) {
        return std::span<const sample>(src.samples).subspan(f.samples.first, f.samples.count);
    }
    if (dedupe_group_) {
        return std::span<const sample>(dedupe_->expanded)
            .subspan(dedupe_->expanded_at[m], f.samples.count);
    }
    if (expanded_member_ != m) {
        expanded_.clear();
        expand_samples(src, f, expanded_);
        expanded_member_ = m;
    }
    return expanded_;
}

bool merger::has_foreign_sample_names(const family& f, std::span<const sample> samples) {
    for (const sample& s : samples) {
        if (s.name != f.name) {
            return true;
        }
    }
    return false;
}

void merger::add_member(std::uint32_t si, std::uint32_t fi, std::string_view key,
                        std::string_view key_suffix, std::string_view only_name) {
    const parsed_exposition& src = *sources_[si].exposition;
    const family& f = src.families[fi];
    std::size_t slot = 0;
    std::uint32_t gi = find_group(key, key_suffix, slot);
    const auto mi = static_cast<std::uint32_t>(members_.size());
    if (gi == no_member) {
        gi = static_cast<std::uint32_t>(groups_.size());
        groups_.push_back({key, key_suffix, f.type, mi, mi, false, false, {}});
        slots_[slot] = gi + 1;
    } else if (groups_[gi].type != f.type) {
        conflicts_.push_back({si, reported_name(src, f, only_name), groups_[gi].type, f.type});
        return;
    } else {
        members_[groups_[gi].last_member].next = mi;
        groups_[gi].last_member = mi;
    }
    members_.push_back({si, fi, no_member, only_name});
    if (src.source_format == format::openmetrics && !groups_[gi].has_openmetrics_member) {
        groups_[gi].has_openmetrics_member = true;
        groups_[gi].extra_base = written_name(f.name);
    }
}

// Whether two members of `g` may write the same series: a source twice, or two sources that
// no injected label tells apart (both inject the same names, and the same values, or one of
// them injects a name the other does not, which its own labels may then have).
bool merger::group_may_repeat(const group& g) {
    if (g.first_member == g.last_member) {
        return false;
    }
    if (options_.sources_deduplicated) {
        return !caller_deduplicated(g);
    }
    dedupe_state& d = *dedupe_;
    const std::uint32_t mark = static_cast<std::uint32_t>(group_ + 1);
    const std::uint64_t names = d.names_hash[members_[g.first_member].source];
    d.group_values.clear();
    for (std::uint32_t m = g.first_member; m != no_member; m = members_[m].next) {
        const std::uint32_t source = members_[m].source;
        if (d.source_mark[source] == mark || d.names_hash[source] != names ||
            sources_[source].injected.empty()) {
            return true;
        }
        d.source_mark[source] = mark;
        d.group_values.push_back(d.values_hash[source]);
    }
    // Injected values rendered alike: equal hashes are compared as text.
    for (std::uint32_t m = g.first_member; m != no_member; m = members_[m].next) {
        d.source_mark[members_[m].source] = 0;
    }
    std::sort(d.group_values.begin(), d.group_values.end());
    for (std::size_t i = 1; i < d.group_values.size(); ++i) {
        if (d.group_values[i] == d.group_values[i - 1]) {
            return true;  // rare: a hash collision makes it compare series, which is still right
        }
    }
    return false;
}

namespace {

// The family's name as merge_options::sources_deduplicated defines a series: a counter's
// `_total` aside, so that 0.0.4's `a_total` and OpenMetrics' `a` are one.
std::string_view deduplicated_family_name(const family& f) {
    std::string_view name = f.name;
    if (f.type == metric_type::counter && name.ends_with("_total")) {
        name.remove_suffix(6);
    }
    return name;
}

// Whether a sample of `f` has a label whose written form can equal another label's although
// its input text differs (a quoted name, escaped for a legacy reader; an escaped value, whose
// unknown escapes the writer rewrites). A raw block has neither.
bool has_rewritten_labels(const parsed_exposition& src, const family& f) {
    if (f.samples_as_lines) {
        return false;  // raw blocks only
    }
    for (std::uint32_t i = f.samples.first; i < f.samples.first + f.samples.count; ++i) {
        const sample& s = src.samples[i];
        if (s.has_raw_labels()) {
            continue;
        }
        for (std::uint32_t j = s.labels.first; j < s.labels.first + s.labels.count; ++j) {
            if (src.labels[j].name_was_quoted || src.labels[j].value_has_escapes) {
                return true;
            }
        }
    }
    return false;
}

}  // namespace

// With merge_options::sources_deduplicated: whether the caller's guarantee covers every metric
// `g` could repeat, so that prepare_dedupe would skip nothing. Not when a source has two
// members here (the caller's guarantee is across sources), injects labels (an own label
// renamed `exported_<name>` can be written as another source's label), the members' families differ
// in name (joined by the output's escaping or an untyped family's split), the group is a stateset
// (its state label is outside the metric), or a label's written form is not its input text; then
// the group is checked as without the option.
bool merger::caller_deduplicated(const group& g) {
    if (g.type == metric_type::stateset) {
        return false;
    }
    dedupe_state& d = *dedupe_;
    const std::uint32_t mark = static_cast<std::uint32_t>(group_ + 1);
    const member& first = members_[g.first_member];
    const std::string_view name =
        deduplicated_family_name(sources_[first.source].exposition->families[first.family]);
    for (std::uint32_t m = g.first_member; m != no_member; m = members_[m].next) {
        const member& mm = members_[m];
        const parsed_exposition& src = *sources_[mm.source].exposition;
        const family& f = src.families[mm.family];
        if (d.source_mark[mm.source] == mark || !sources_[mm.source].injected.empty() ||
            deduplicated_family_name(f) != name || has_rewritten_labels(src, f)) {
            return false;
        }
        d.source_mark[mm.source] = mark;
    }
    return true;
}

namespace {

// The labels of a written sample line, read back: exact whatever the writer renamed, dropped or
// escaped. `line` must outlive `labels`.
void labels_of_written_line(std::string_view line, std::vector<label>& labels) {
    labels.clear();
    const std::size_t brace = line.find('{');
    if (brace == std::string_view::npos) {
        return;
    }
    const char* p = line.data() + brace + 1;
    const char* end = line.data() + line.size();
    detail::name_token name;
    if (line.front() != '{') {
        name.text = line.substr(0, brace);
    }
    detail::failure f;
    parse_limits limits;
    limits.max_labels_per_sample = SIZE_MAX;
    limits.max_label_value_bytes = SIZE_MAX;
    detail::parse_label_set<false>(p, end, labels, &name, limits, f);
}

// Hash of the metric a sample belongs to as the output writes it: its labels (le, quantile
// and a stateset's label aside) with the injected ones. Equal metrics hash equally.
std::uint64_t metric_key(const parsed_exposition& src, const family& f, const sample& s,
                         const prepared_labels& injected, std::uint64_t injected_sum,
                         bool drop_colliding, const writer_options& opts,
                         std::vector<label>& scratch, std::string& text) {
    const std::string_view excluded =
        detail::excluded_label(f, detail::part_of(f, src.source_format, s.name));
    bool renamed = false;
    scratch.clear();
    detail::visit_labels(src, s, [&](const label& l) {
        renamed = renamed || l.name_was_quoted ||
                  std::any_of(injected.labels.begin(), injected.labels.end(),
                              [&](const label& i) { return i.name == l.name; });
        scratch.push_back(l);
    });
    std::uint64_t key = 0;
    if (!renamed) {
        key = injected_sum;
        for (const label& l : scratch) {
            if (excluded.empty() || l.name != excluded) {
                key += detail::label_hash(l);
            }
        }
        return key;
    }
    // Own labels renamed or dropped for the injected ones: read the written line back.
    text.clear();
    append_sample(text, src, f, s, injected, drop_colliding, opts);
    labels_of_written_line(text, scratch);
    for (const label& l : scratch) {
        if (excluded.empty() || l.name != excluded) {
            key += detail::label_hash(l);
        }
    }
    return key;
}

}  // namespace

void merger::prepare_dedupe() {
    dedupe_state& d = *dedupe_;
    const group& g = groups_[group_];
    const bool drop_colliding = options_.collisions == collision_policy::overwrite;
    d.skip.clear();
    d.ordinal_member.clear();
    d.ordinal_sample.clear();
    d.metrics.clear();
    // The written labels of ordinal `o` (le... aside), for comparing on equal keys.
    const auto written_labels = [&](std::uint32_t o, std::vector<label>& labels,
                                    std::string& text) {
        const member& mm = members_[d.ordinal_member[o]];
        const parsed_exposition& src = *sources_[mm.source].exposition;
        const family& f = src.families[mm.family];
        const sample& s = samples_of(d.ordinal_member[o])[d.ordinal_sample[o]];
        text.clear();
        append_sample(text, src, f, s, prepared_[mm.source], drop_colliding, writer_options_);
        labels_of_written_line(text, labels);
        const std::string_view excluded =
            detail::excluded_label(f, detail::part_of(f, src.source_format, s.name));
        std::erase_if(labels,
                      [&](const label& l) { return !excluded.empty() && l.name == excluded; });
    };
    const auto same_metric = [&](std::uint32_t a, std::uint32_t b) {
        written_labels(a, d.left, d.left_text);
        written_labels(b, d.right, d.right_text);
        if (d.left.size() != d.right.size()) {
            return false;
        }
        for (const label& l : d.left) {
            if (std::none_of(d.right.begin(), d.right.end(),
                             [&](const label& r) { return detail::same_label(l, r); })) {
                return false;
            }
        }
        return true;
    };
    d.expanded.clear();
    for (std::uint32_t m = g.first_member; m != no_member; m = members_[m].next) {
        const member& mm = members_[m];
        const parsed_exposition& src = *sources_[mm.source].exposition;
        if (src.families[mm.family].samples_as_lines) {
            d.expanded_at[m] = static_cast<std::uint32_t>(d.expanded.size());
            expand_samples(src, src.families[mm.family], d.expanded);
        }
    }
    std::uint32_t ordinal = 0;
    for (std::uint32_t m = g.first_member; m != no_member; m = members_[m].next) {
        const member& mm = members_[m];
        const parsed_exposition& src = *sources_[mm.source].exposition;
        const family& f = src.families[mm.family];
        const std::span<const sample> samples = samples_of(m);
        d.member_offset[m] = ordinal;
        for (std::uint32_t j = 0; j < f.samples.count; ++j, ++ordinal) {
            d.ordinal_member.push_back(m);
            d.ordinal_sample.push_back(j);
            d.skip.push_back(0);
            const sample& s = samples[j];
            const std::uint64_t key =
                metric_key(src, f, s, prepared_[mm.source], d.injected_sum[mm.source],
                           drop_colliding, writer_options_, d.left, d.left_text);
            const std::uint32_t first = d.metrics.find(
                key, [&](std::uint32_t other) { return same_metric(ordinal, other); });
            if (first == UINT32_MAX) {
                d.metrics.insert(key, ordinal);
            } else if (d.ordinal_member[first] != m) {
                d.skip[ordinal] = 1;
                ++duplicates_skipped_;
            }
        }
    }
}

bool merger::skipped(std::uint32_t member, std::uint32_t sample) const {
    return dedupe_group_ && dedupe_->skip[dedupe_->member_offset[member] + sample] != 0;
}

void merger::skip_dropped_groups() {
    while (group_ < groups_.size() && groups_[group_].dropped) {
        ++group_;
    }
}

void merger::write_header(std::string& out, const group& g) {
    // HELP from the first source that has one (Promfetcher took it from whichever instance
    // answered first); UNIT likewise. Name and TYPE agree across members by construction.
    const member* named = nullptr;
    std::string_view unit;
    for (std::uint32_t m = g.first_member; m != no_member; m = members_[m].next) {
        const member& mm = members_[m];
        const family& f = sources_[mm.source].exposition->families[mm.family];
        if (named == nullptr && f.help_present) {
            named = &mm;
        }
        if (unit.empty()) {
            unit = f.unit;
        }
    }
    if (named == nullptr) {
        named = &members_[g.first_member];
    }
    const parsed_exposition& src = *sources_[named->source].exposition;
    family header = src.families[named->family];
    if (!named->only_name.empty() && named->only_name != header.name) {
        header.name = named->only_name;  // split off an untyped family: its HELP is not ours
        header.help_present = false;
    }
    header.unit = unit;
    append_family_header(out, header, src.source_format, writer_options_);
}

bool merger::write_group_samples(std::string& out, std::size_t stop) {
    const bool split_extras = writer_options_.output == format::prometheus_text;
    const bool drop_colliding = options_.collisions == collision_policy::overwrite;
    while (member_ != no_member) {
        const member& m = members_[member_];
        const parsed_exposition& src = *sources_[m.source].exposition;
        const family& f = src.families[m.family];
        const bool classify = split_extras && src.source_format == format::openmetrics;
        const bool family_name_legacy = is_legacy_metric_name(f.name);
        if (f.samples_as_lines && !dedupe_group_ && !classify) {
            // The hot loop of a merged answer: the family's lines are read and written one by
            // one, most of them copied with the injected labels (sample_line.hpp).
            const char* p = sample_ == 0 ? src.sample_lines.data() + f.first_line : next_line_;
            const bool may_collide =
                (f.raw_label_name_bits & prepared_[m.source].name_length_bits) != 0;
            while (sample_ < f.samples.count) {
                sample smp;
                p = detail::read_sample_line(p, src.line_sizes[f.samples.first + sample_], smp);
                ++sample_;
                if (!m.only_name.empty() && smp.name != m.only_name) {
                    continue;
                }
                detail::append_sample_line(out, src, f, smp, prepared_[m.source], drop_colliding,
                                           writer_options_, family_name_legacy, may_collide);
                if (out.size() >= stop) {
                    next_line_ = p;
                    return false;
                }
            }
            member_ = m.next;
            sample_ = 0;
            continue;
        }
        const std::span<const sample> samples = samples_of(member_);
        while (sample_ < f.samples.count) {
            const sample& smp = samples[sample_];
            ++sample_;
            if (classify && classify_om_extra(f, smp, src.source_format) != om_extra::none) {
                continue;
            }
            if (!m.only_name.empty() && smp.name != m.only_name) {
                continue;
            }
            if (skipped(member_, sample_ - 1)) {
                continue;
            }
            detail::append_sample(out, src, f, smp, prepared_[m.source], drop_colliding,
                                  writer_options_, family_name_legacy);
            if (out.size() >= stop) {
                return false;
            }
        }
        member_ = m.next;
        sample_ = 0;
    }
    return true;
}

bool merger::write_group_extras(std::string& out, std::size_t stop) {
    const bool drop_colliding = options_.collisions == collision_policy::overwrite;
    const group& g = groups_[group_];
    while (extra_ < std::size(om_extras_in_output_order)) {
        const om_extra extra = om_extras_in_output_order[extra_];
        while (member_ != no_member) {
            const member& m = members_[member_];
            const parsed_exposition& src = *sources_[m.source].exposition;
            const family& f = src.families[m.family];
            if (src.source_format == format::openmetrics) {
                const std::span<const sample> samples = samples_of(member_);
                while (sample_ < f.samples.count) {
                    const sample& smp = samples[sample_];
                    ++sample_;
                    if (classify_om_extra(f, smp, src.source_format) != extra ||
                        skipped(member_, sample_ - 1)) {
                        continue;
                    }
                    if (!extra_header_written_) {
                        append_om_extra_header(out, f, src.source_format, extra, writer_options_);
                        extra_header_written_ = true;
                    }
                    append_sample(out, src, f, smp, prepared_[m.source], drop_colliding,
                                  writer_options_);
                    if (out.size() >= stop) {
                        return false;
                    }
                }
            }
            member_ = m.next;
            sample_ = 0;
        }
        ++extra_;
        member_ = g.first_member;
        sample_ = 0;
        extra_header_written_ = false;
    }
    return true;
}

bool merger::write_some(std::string& out, std::size_t soft_limit) {
    const std::size_t stop = out.size() + soft_limit;
    while (out.size() < stop) {
        switch (phase_) {
            case phase::header:
                dedupe_group_ = group_may_repeat(groups_[group_]);
                if (dedupe_group_) {
                    prepare_dedupe();
                }
                write_header(out, groups_[group_]);
                member_ = groups_[group_].first_member;
                sample_ = 0;
                phase_ = phase::samples;
                break;
            case phase::samples:
                if (!write_group_samples(out, stop)) {
                    return false;
                }
                if (writer_options_.output == format::prometheus_text &&
                    groups_[group_].has_openmetrics_member) {
                    phase_ = phase::extras;
                    extra_ = 0;
                    member_ = groups_[group_].first_member;
                    sample_ = 0;
                    extra_header_written_ = false;
                    break;
                }
                ++group_;
                skip_dropped_groups();
                phase_ = group_ < groups_.size() ? phase::header : phase::trailer;
                break;
            case phase::extras:
                if (!write_group_extras(out, stop)) {
                    return false;
                }
                ++group_;
                skip_dropped_groups();
                phase_ = group_ < groups_.size() ? phase::header : phase::trailer;
                break;
            case phase::trailer:
                append_trailer(out, writer_options_);
                phase_ = phase::done;
                return true;
            case phase::done:
                return true;
        }
    }
    return phase_ == phase::done;
}

std::string merger::write_all(const writer_options& options) {
    std::string out;
    write_all(out, options);
    return out;
}

void merger::write_all(std::string& out, const writer_options& options) {
    start(options);
    while (!write_some(out, std::size_t(1) << 20)) {
    }
}

}  // namespace mgw::exposition
