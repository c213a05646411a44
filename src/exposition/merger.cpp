// Exposition merger: family grouping across sources with an open-addressing index over
// string_views, and a resumable cursor that writes the merged exposition in bounded chunks.
#include <array>
#include <bit>

#include <mgw/exposition/merger.hpp>

namespace mgw::exposition {
namespace {

constexpr std::uint32_t no_member = UINT32_MAX;

// FNV-1a over base+suffix, so a composed name is looked up without building it.
std::uint64_t hash_name(std::string_view base, std::string_view suffix, bool counter) {
    std::uint64_t h = counter ? 1469598103934665603ULL : 7809847782465536322ULL;
    for (const std::string_view part : {base, suffix}) {
        for (char c : part) {
            h ^= static_cast<unsigned char>(c);
            h *= 1099511628211ULL;
        }
    }
    return h;
}

}  // namespace

merger::merger(merge_options options) : options_(options) {}

void merger::add_source(const parsed_exposition& exposition, std::span<const label> injected) {
    sources_.push_back({&exposition, injected});
}

void merger::clear() {
    sources_.clear();
    members_.clear();
    groups_.clear();
    conflicts_.clear();
    phase_ = phase::done;
}

std::uint32_t merger::find_group(std::string_view base, std::string_view suffix, bool counter,
                                 std::size_t& slot) const {
    const std::size_t mask = slots_.size() - 1;
    slot = hash_name(base, suffix, counter) & mask;
    const std::size_t size = base.size() + suffix.size();
    while (slots_[slot] != 0) {
        const std::uint32_t index = slots_[slot] - 1;
        const group& g = groups_[index];
        if (g.counter == counter && g.key.size() == size && g.key.substr(0, base.size()) == base &&
            g.key.substr(base.size()) == suffix) {
            return index;
        }
        slot = (slot + 1) & mask;
    }
    return no_member;
}

void merger::drop_group(std::uint32_t dropped, const group& kept) {
    group& g = groups_[dropped];
    g.dropped = true;
    for (std::uint32_t m = g.first_member; m != no_member; m = members_[m].next) {
        conflicts_.push_back({members_[m].source, g.key, kept.type, g.type});
    }
}

// Families that are distinct in one format can clash in the other: a 0.0.4 gauge `a` and
// counter `a_total` (every Go client exposes go_memstats_alloc_bytes and ..._total) are both
// family `a` in OpenMetrics; an OpenMetrics counter `a` and a gauge `a_total` both write
// `a_total`; client_python's 0.0.4 gauge `h_created` is the `_created` of histogram `h` in
// OpenMetrics. For every name a family occupies in the output besides its own key, a
// non-counter family of that name clashes; the later-seen family of a pair is left out.
void merger::drop_clashing_groups() {
    const bool om = writer_options_.output == format::openmetrics;
    const auto group_count = static_cast<std::uint32_t>(groups_.size());
    for (std::uint32_t gi = 0; gi < group_count; ++gi) {
        const group& g = groups_[gi];
        if (g.dropped) {
            continue;
        }
        // Names written in 0.0.4 only for OpenMetrics members (the split-off gauges).
        const bool om_extras = om || g.has_openmetrics_member;
        std::array<std::pair<std::string_view, bool>, 3> occupied{};
        switch (g.type) {
            case metric_type::counter:
                // In 0.0.4 a counter is written under its bare key only when a 0.0.4 source
                // named it without `_total`.
                occupied = {{{"", om || g.has_text_name_without_total},
                             {"_total", true},
                             {"_created", om_extras}}};
                break;
            case metric_type::histogram:
            case metric_type::summary:
                occupied = {{{"_created", om_extras}, {"", false}, {"", false}}};
                break;
            case metric_type::gaugehistogram:
                occupied = {{{"_gcount", om_extras}, {"_gsum", om_extras}, {"", false}}};
                break;
            case metric_type::info:
                occupied = {{{"_info", true}, {"", false}, {"", false}}};
                break;
            default:
                continue;
        }
        std::size_t slot = 0;
        for (const auto& [suffix, applies] : occupied) {
            if (!applies) {
                continue;
            }
            const std::uint32_t other = find_group(g.key, suffix, false, slot);
            if (other == no_member || other == gi || groups_[other].dropped) {
                continue;
            }
            if (other > gi) {
                drop_group(other, g);
            } else {
                drop_group(gi, groups_[other]);
                break;
            }
        }
    }
}

void merger::start(const writer_options& options) {
    writer_options_ = options;
    members_.clear();
    groups_.clear();
    conflicts_.clear();

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

    for (std::uint32_t si = 0; si < sources_.size(); ++si) {
        const parsed_exposition& src = *sources_[si].exposition;
        for (std::uint32_t fi = 0; fi < src.families.size(); ++fi) {
            const family& f = src.families[fi];
            const std::span<const sample> samples =
                std::span<const sample>(src.samples).subspan(f.samples.first, f.samples.count);
            if (f.type != metric_type::unknown || !has_foreign_sample_names(f, samples)) {
                add_member(si, fi, canonical_family_name(f, src.source_format), {});
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
                    add_member(si, fi, samples[i].name, samples[i].name);
                }
            }
        }
    }
    drop_clashing_groups();
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

bool merger::has_foreign_sample_names(const family& f, std::span<const sample> samples) {
    for (const sample& s : samples) {
        if (s.name != f.name) {
            return true;
        }
    }
    return false;
}

void merger::add_member(std::uint32_t si, std::uint32_t fi, std::string_view key,
                        std::string_view only_name) {
    const parsed_exposition& src = *sources_[si].exposition;
    const family& f = src.families[fi];
    const bool counter = f.type == metric_type::counter;
    std::size_t slot = 0;
    std::uint32_t gi = find_group(key, {}, counter, slot);
    const auto mi = static_cast<std::uint32_t>(members_.size());
    if (gi == no_member) {
        gi = static_cast<std::uint32_t>(groups_.size());
        groups_.push_back({key, f.type, mi, mi, counter, false, false, false});
        slots_[slot] = gi + 1;
    } else if (groups_[gi].type != f.type) {
        conflicts_.push_back({si, key, groups_[gi].type, f.type});
        return;
    } else {
        members_[groups_[gi].last_member].next = mi;
        groups_[gi].last_member = mi;
    }
    members_.push_back({si, fi, no_member, only_name});
    groups_[gi].has_openmetrics_member |= src.source_format == format::openmetrics;
    groups_[gi].has_text_name_without_total |=
        counter && src.source_format == format::prometheus_text && f.name == key;
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
        while (sample_ < f.samples.count) {
            const sample& smp = src.samples[f.samples.first + sample_];
            ++sample_;
            if (classify && classify_om_extra(f, smp, src.source_format) != om_extra::none) {
                continue;
            }
            if (!m.only_name.empty() && smp.name != m.only_name) {
                continue;
            }
            append_sample(out, src, f, smp, prepared_[m.source], drop_colliding, writer_options_);
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
                while (sample_ < f.samples.count) {
                    const sample& smp = src.samples[f.samples.first + sample_];
                    ++sample_;
                    if (classify_om_extra(f, smp, src.source_format) != extra) {
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
