// Duplicate series across the sources of one /metrics/connected answer, found with one
// open-addressing table of series keys (family, type, label set) and removed from the later
// source.
#include "series_dedup.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include <mgw/exposition/parser.hpp>
#include <mgw/text/short_hash.hpp>

namespace mgw::rsocket {

namespace {

using exposition::label;
using exposition::metric_type;
using exposition::parsed_exposition;

// Types whose samples form one series per label set without `le` / `quantile`.
bool grouped(metric_type type) {
    return type == metric_type::histogram || type == metric_type::gaugehistogram ||
           type == metric_type::summary;
}

bool excluded(metric_type type, std::string_view name) {
    return grouped(type) && (name == "le" || name == "quantile");
}

// A 0.0.4 counter family is named with _total, an OpenMetrics one without: the same series.
std::string_view family_key(const exposition::family& f) {
    std::string_view name = f.name;
    if (f.type == metric_type::counter && name.ends_with("_total")) {
        name.remove_suffix(6);
    }
    return name;
}

std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

// Names and values are short: eight bytes at a time, then the tail.
std::uint64_t hash_text(std::string_view s, std::uint64_t seed) {
    std::uint64_t h = seed ^ (s.size() * 0x9e3779b97f4a7c15ULL);
    const char* p = s.data();
    std::size_t n = s.size();
    for (; n >= 8; p += 8, n -= 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, p, 8);
        h = (h ^ mix(word)) * 0x9e3779b97f4a7c15ULL;
    }
    std::uint64_t tail = 0;
    std::memcpy(&tail, p, n);
    return mix(h ^ tail ^ (n << 56));
}

// The hash of the bytes `name="value` apart from the text (a label of a non-canonical block,
// whose views are not adjacent).
[[gnu::noinline]] std::uint64_t label_hash_joined(const label& l) {
    thread_local std::string joined;
    joined.assign(l.name);
    joined += "=\"";
    joined += l.value;
    return text::short_text_hash(joined, 0x8ebc6af09c88c6e3ULL);
}

// One label's contribution to its sample's order-independent label-set hash: the hash of
// `name="value`, which a canonical block holds as one span (one hash of both, mostly within
// 16 bytes: two loads and a multiply per label).
std::uint64_t label_hash(const label& l) {
    const char* name_end = l.name.data() + l.name.size();
    if (l.value.data() == name_end + 2 && name_end[0] == '=' && name_end[1] == '"') {
        return text::short_text_hash(
            std::string_view(l.name.data(), l.name.size() + 2 + l.value.size()),
            0x8ebc6af09c88c6e3ULL);
    }
    return label_hash_joined(l);
}

// Visits the labels of `s` wherever the parser stored them, without copying them.
template <class Visit>
void for_each_label(const parsed_exposition& e, const exposition::sample& s, Visit&& visit) {
    if (s.has_raw_labels()) {
        exposition::for_each_raw_label(s.raw_labels(), visit);
        return;
    }
    for (std::uint32_t i = s.labels.first; i < s.labels.first + s.labels.count; ++i) {
        visit(e.labels[i]);
    }
}

}  // namespace

bool series_dedup::same_series(const key_view& a, const key_view& b) {
    const exposition::family& fa = a.source->families[a.family];
    const exposition::family& fb = b.source->families[b.family];
    if (fa.type != fb.type || family_key(fa) != family_key(fb)) {
        return false;
    }
    a_.clear();
    b_.clear();
    for_each_label(*a.source, a.source->samples[a.sample], [&](const label& l) {
        if (!excluded(fa.type, l.name)) {
            a_.push_back(l);
        }
    });
    for_each_label(*b.source, b.source->samples[b.sample], [&](const label& l) {
        if (!excluded(fb.type, l.name)) {
            b_.push_back(l);
        }
    });
    if (a_.size() != b_.size()) {
        return false;
    }
    // Label names are unique within a sample: a set comparison.
    return std::all_of(a_.begin(), a_.end(), [&](const label& x) {
        return std::any_of(b_.begin(), b_.end(),
                           [&](const label& y) { return x.name == y.name && x.value == y.value; });
    });
}

void series_dedup::reserve(std::size_t samples) {
    std::size_t size = 16;
    while (size < samples + samples / 2) {
        size <<= 1;
    }
    if (size > slots_.size()) {
        slots_.assign(size, slot{});
        used_ = 0;
    }
}

void series_dedup::grow() {
    std::vector<slot> old = std::move(slots_);
    slots_.assign(std::max<std::size_t>(old.size() * 2, 16), slot{});
    const std::size_t mask = slots_.size() - 1;
    for (const slot& s : old) {
        if (s.hash == 0) {
            continue;
        }
        std::size_t at = s.hash & mask;
        while (slots_[at].hash != 0) {
            at = (at + 1) & mask;
        }
        slots_[at] = s;
    }
}

std::size_t series_dedup::add(parsed_exposition& e) {
    const auto source = static_cast<std::uint32_t>(sources_.size());
    sources_.push_back(&e);
    std::vector<bool> drop;  // per sample of `e`, allocated on the first duplicate only
    std::size_t dropped_series = 0;
    std::size_t inserted = 0;
    for (std::uint32_t fi = 0; fi < e.families.size(); ++fi) {
        const exposition::family& f = e.families[fi];
        const std::uint64_t family_hash =
            hash_text(family_key(f), static_cast<std::uint64_t>(f.type) + 1);
        // Room for the whole family first, so that no slot moves while it is looked up.
        while ((used_ + f.samples.count) * 4 > slots_.size() * 3) {
            grow();
        }
        const std::size_t mask = slots_.size() - 1;
        // First every sample's hash, with its slot fetched ahead: the table is far larger than
        // the caches, and the misses of one family overlap instead of following each other.
        hashes_.clear();
        for (std::uint32_t si = f.samples.first; si < f.samples.first + f.samples.count; ++si) {
            // Order-independent: the same labels in another order are the same series.
            std::uint64_t label_sum = 0;
            for_each_label(e, e.samples[si], [&](const label& l) {
                if (!excluded(f.type, l.name)) {
                    label_sum += label_hash(l);
                }
            });
            auto hash = static_cast<std::uint32_t>(mix(family_hash ^ label_sum) >> 32);
            hash = hash == 0 ? 1 : hash;
            hashes_.push_back(hash);
            __builtin_prefetch(&slots_[hash & mask]);
        }
        for (std::uint32_t k = 0; k < f.samples.count; ++k) {
            const std::uint32_t si = f.samples.first + k;
            const std::uint32_t hash = hashes_[k];
            std::size_t at = hash & mask;
            bool found = false;
            while (slots_[at].hash != 0) {
                const slot& s = slots_[at];
                if (s.hash == hash &&
                    same_series({&e, fi, si}, {sources_[s.source], s.family, s.sample})) {
                    found = true;
                    break;
                }
                at = (at + 1) & mask;
            }
            if (!found) {
                slots_[at] = {.hash = hash, .source = source, .family = fi, .sample = si};
                ++used_;
                ++inserted;
                continue;
            }
            if (slots_[at].source == source) {
                continue;  // another sample of a series of this source (a histogram's bucket)
            }
            if (drop.empty()) {
                drop.assign(e.samples.size(), false);
            }
            // A histogram or summary counts once, on its first dropped sample.
            if (!grouped(f.type) || k == 0 || !drop[si - 1] ||
                !same_series({&e, fi, si}, {&e, fi, si - 1})) {
                ++dropped_series;
            }
            drop[si] = true;
        }
    }
    if (drop.empty()) {
        return 0;
    }
    // Rebuild the samples without the dropped ones; families keep their order and get
    // contiguous ranges again (into a new vector: ranges need not be in sample order).
    std::vector<std::uint32_t> moved_to(e.samples.size(), 0);
    std::vector<exposition::sample> kept;
    kept.reserve(e.samples.size());
    for (exposition::family& f : e.families) {
        const std::uint32_t first = f.samples.first;
        const std::uint32_t end = first + f.samples.count;
        f.samples.first = static_cast<std::uint32_t>(kept.size());
        for (std::uint32_t si = first; si < end; ++si) {
            if (!drop[si]) {
                moved_to[si] = static_cast<std::uint32_t>(kept.size());
                kept.push_back(e.samples[si]);
            }
        }
        f.samples.count = static_cast<std::uint32_t>(kept.size()) - f.samples.first;
    }
    e.samples = std::move(kept);
    // The series this source brought first now sit elsewhere (none when it brought none, as
    // when a reconnecting client repeats its old connection's series).
    for (std::size_t i = 0; inserted != 0 && i < slots_.size(); ++i) {
        if (slots_[i].hash != 0 && slots_[i].source == source) {
            slots_[i].sample = moved_to[slots_[i].sample];
            --inserted;
        }
    }
    return dropped_series;
}

void series_dedup::clear() {
    std::fill(slots_.begin(), slots_.end(), slot{});
    used_ = 0;
    sources_.clear();
}

}  // namespace mgw::rsocket
