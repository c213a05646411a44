// Samples kept as lines (sample_lines.hpp): the check that a parsed family can be, and the
// re-reading of its lines into samples. The check compares every sample with the line the
// re-reading will see, so that what is expanded is exactly what was parsed.
#include <optional>

#include <mgw/exposition/sample_lines.hpp>

#include "parser_number.hpp"
#include "sample_line.hpp"

namespace mgw::exposition {
namespace {

// A part's size as sample_line_sizes holds it, or no_block when it does not fit.
std::uint16_t small_size(std::size_t size) {
    return size < sample_line_sizes::no_block ? static_cast<std::uint16_t>(size)
                                              : sample_line_sizes::no_block;
}

// The sizes of `s` read as the sample line starting at `p` in `input`, when `s` is that line in
// its canonical shape (and its parts fit); otherwise nothing.
std::optional<sample_line_sizes> canonical_line(const sample& s, const char* p,
                                                std::string_view input) {
    const char* const end = input.data() + input.size();
    if (s.has_exemplar() || s.labels.count != 0 || s.name.empty() || s.name.data() != p) {
        return std::nullopt;
    }
    sample_line_sizes sizes;
    sizes.name = small_size(s.name.size());
    sizes.value = small_size(s.value_text.size());
    sizes.timestamp = small_size(s.timestamp_text.size());
    const char* q = p + s.name.size();
    if (s.has_raw_labels()) {
        sizes.block = small_size(s.raw_labels_size);
        q += 1 + s.raw_labels_size;  // `{` block, the parser saw `}` here
        if (q >= end || *q != '}') {
            return std::nullopt;
        }
        ++q;
    } else if (q + 1 < end && q[0] == '{' && q[1] == '}') {
        sizes.block = 0;
        q += 2;
    }
    if (q >= end || *q != ' ' || s.value_text.data() != q + 1) {
        return std::nullopt;
    }
    q = s.value_text.data() + s.value_text.size();
    if (!s.timestamp_text.empty()) {
        if (q >= end || *q != ' ' || s.timestamp_text.data() != q + 1) {
            return std::nullopt;
        }
        q = s.timestamp_text.data() + s.timestamp_text.size();
    }
    if ((q != end && *q != '\n') || sizes.name == sample_line_sizes::no_block ||
        sizes.value == sample_line_sizes::no_block ||
        sizes.timestamp == sample_line_sizes::no_block ||
        (s.has_raw_labels() && sizes.block == sample_line_sizes::no_block)) {
        return std::nullopt;
    }
    return sizes;
}

// Appends the sizes of `f`'s lines to `sizes` and returns true when its samples are canonical
// lines of `input`, one after the other; otherwise returns false (`sizes` may have grown).
bool family_lines(const parsed_exposition& parsed, const family& f, std::string_view input,
                  std::vector<sample_line_sizes>& sizes) {
    if (f.samples.count == 0) {
        return false;
    }
    const char* p = parsed.samples[f.samples.first].name.data();
    if (p < input.data() || p >= input.data() + input.size()) {
        return false;
    }
    for (std::uint32_t i = 0; i < f.samples.count; ++i) {
        const sample& s = parsed.samples[f.samples.first + i];
        const std::optional<sample_line_sizes> line = canonical_line(s, p, input);
        if (!line) {
            return false;
        }
        sizes.push_back(*line);
        p = detail::sample_line_end(p, *line) + 1;
    }
    return true;
}

}  // namespace

std::size_t copy_as_sample_lines(const parsed_exposition& parsed, std::string_view input,
                                 parsed_exposition& lines) {
    if (parsed.source_format != format::prometheus_text || !parsed.synthesized_text.empty() ||
        input.size() > UINT32_MAX) {
        return 0;
    }
    // Which families are lines, and their lines' sizes: per thread, kept for the next body.
    thread_local std::vector<sample_line_sizes> sizes;
    thread_local std::vector<std::uint32_t> first_size;  // per family; UINT32_MAX: not lines
    sizes.clear();
    first_size.clear();
    std::size_t as_lines = 0;
    std::size_t kept_samples = 0;
    for (const family& f : parsed.families) {
        const auto first = static_cast<std::uint32_t>(sizes.size());
        if (family_lines(parsed, f, input, sizes)) {
            first_size.push_back(first);
            ++as_lines;
        } else {
            sizes.resize(first);
            first_size.push_back(UINT32_MAX);
            kept_samples += f.samples.count;
        }
    }
    if (as_lines == 0) {
        return 0;
    }
    lines.clear();
    lines.source_format = parsed.source_format;
    lines.families = parsed.families;
    lines.samples.reserve(kept_samples);
    for (std::size_t fi = 0; fi < lines.families.size(); ++fi) {
        family& f = lines.families[fi];
        if (first_size[fi] != UINT32_MAX) {
            f.samples_as_lines = true;
            f.first_line = static_cast<std::uint32_t>(parsed.samples[f.samples.first].name.data() -
                                                      input.data());
            f.samples.first = first_size[fi];
        } else {
            const auto first = parsed.samples.begin() + f.samples.first;
            f.samples.first = static_cast<std::uint32_t>(lines.samples.size());
            lines.samples.insert(lines.samples.end(), first, first + f.samples.count);
        }
    }
    // Only the kept samples' labels are in it (a raw block has none in it).
    lines.labels = parsed.labels;
    lines.line_sizes.assign(sizes.begin(), sizes.end());
    lines.sample_lines = input;
    return as_lines;
}

void expand_samples(const parsed_exposition& lines, const family& f, std::vector<sample>& out) {
    const char* p = lines.sample_lines.data() + f.first_line;
    for (std::uint32_t i = 0; i < f.samples.count; ++i) {
        sample& s = out.emplace_back();
        p = detail::read_sample_line(p, lines.line_sizes[f.samples.first + i], s);
        detail::parse_number(s.value_text, s.value);
    }
}

namespace detail {

const char* sample_line_end(const char* p, const sample_line_sizes& sizes) {
    return p + sizes.name +
           (sizes.block == sample_line_sizes::no_block ? 0 : std::size_t(2) + sizes.block) + 1 +
           sizes.value + (sizes.timestamp == 0 ? 0 : std::size_t(1) + sizes.timestamp);
}

const char* read_sample_line(const char* p, const sample_line_sizes& sizes, sample& s) {
    s.name = std::string_view(p, sizes.name);
    const char* q = p + sizes.name;
    if (sizes.block != sample_line_sizes::no_block) {
        s.raw_labels_size = sizes.block;
        q += std::size_t(2) + sizes.block;
    }
    s.value_text = std::string_view(q + 1, sizes.value);
    q += 1 + sizes.value;
    if (sizes.timestamp != 0) {
        s.timestamp_text = std::string_view(q + 1, sizes.timestamp);
        q += 1 + sizes.timestamp;
    }
    return q + 1;
}

}  // namespace detail
}  // namespace mgw::exposition
