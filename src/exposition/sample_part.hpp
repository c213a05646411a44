// What a sample is within its family (a bucket, a count, a quantile...), from its name's suffix
// and the family's TYPE in the input's format, and which of its labels is not part of its
// metric's label set (le, quantile, a stateset's own label). Shared by the lenient reader's
// repairs and the merger's duplicate detection, which must agree on what one metric is.
#pragma once

#include <string_view>

#include "mgw/exposition/model.hpp"
#include "same_bytes.hpp"

namespace mgw::exposition::detail {

enum class part : unsigned char {
    plain,    // gauge, unknown, stateset, summary quantile: the family's own name
    total,    // a counter's value (0.0.4 names it as the family, OpenMetrics `_total`)
    created,  // OpenMetrics `_created`
    bucket,
    count,
    sum,
    gcount,
    gsum,
    info,     // OpenMetrics `_info`
    foreign,  // a name the family's TYPE does not have
};

// The part of a sample whose name is the family's name followed by `suffix`.
inline part part_of_suffix(const family& fam, format input, std::string_view suffix) {
    if (input == format::prometheus_text) {
        switch (fam.type) {
            case metric_type::counter:
                return suffix.empty() ? part::total : part::foreign;
            case metric_type::histogram:
                if (suffix == "_bucket") {
                    return part::bucket;
                }
                break;
            case metric_type::summary:
                if (suffix.empty()) {
                    return part::plain;
                }
                break;
            default:
                return suffix.empty() ? part::plain : part::foreign;
        }
        if (suffix == "_count") {
            return part::count;
        }
        return suffix == "_sum" ? part::sum : part::foreign;
    }
    struct entry {
        std::string_view suffix;
        part kind;
    };
    static constexpr entry counter[] = {{"_total", part::total}, {"_created", part::created}};
    static constexpr entry histogram[] = {{"_bucket", part::bucket},
                                          {"_count", part::count},
                                          {"_sum", part::sum},
                                          {"_created", part::created}};
    static constexpr entry gaugehistogram[] = {
        {"_bucket", part::bucket}, {"_gcount", part::gcount}, {"_gsum", part::gsum}};
    static constexpr entry summary[] = {{"", part::plain},
                                        {"_count", part::count},
                                        {"_sum", part::sum},
                                        {"_created", part::created}};
    static constexpr entry info[] = {{"_info", part::info}};
    static constexpr entry plain[] = {{"", part::plain}};
    const auto lookup = [&](const auto& table) {
        for (const entry& e : table) {
            if (same_bytes(e.suffix, suffix)) {
                return e.kind;
            }
        }
        return part::foreign;
    };
    switch (fam.type) {
        case metric_type::counter:
            return lookup(counter);
        case metric_type::histogram:
            return lookup(histogram);
        case metric_type::gaugehistogram:
            return lookup(gaugehistogram);
        case metric_type::summary:
            return lookup(summary);
        case metric_type::info:
            return lookup(info);
        default:
            return lookup(plain);
    }
}

inline part part_of(const family& fam, format input, std::string_view name) {
    if (name.size() < fam.name.size() || name.compare(0, fam.name.size(), fam.name) != 0) {
        return part::foreign;
    }
    return part_of_suffix(fam, input, name.substr(fam.name.size()));
}

// The label of a sample of `kind` that is not part of its metric's label set; empty if none.
inline std::string_view excluded_label(const family& fam, part kind) {
    if (kind == part::bucket) {
        return "le";
    }
    if (fam.type == metric_type::summary && kind == part::plain) {
        return "quantile";
    }
    return fam.type == metric_type::stateset ? fam.name : std::string_view();
}

}  // namespace mgw::exposition::detail
