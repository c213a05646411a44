// Samples kept as lines (sample_lines.hpp): the check that a parsed family can be, and the
// re-reading of its lines into samples. The check compares every sample with the line the
// re-reading will see, so that what is expanded is exactly what was parsed.
#include <mgw/exposition/sample_lines.hpp>

#include "parser_number.hpp"
#include "sample_line.hpp"

namespace mgw::exposition {
namespace {

// Whether `s` is the sample line starting at `p` in its canonical shape, its parts small
// enough for sample_line_sizes; if so, writes their sizes to `sizes` and returns the line's end
// (its '\n' or the input's end), otherwise nullptr. Every view of `s` points into the input
// (ending at `end`) and its value is never empty, so a character is read only where a view
// already proves the input holds it.
const char* canonical_line(const sample& s, const char* p, const char* end,
                           sample_line_sizes& sizes) {
    if (s.has_exemplar() || s.labels.count != 0 || s.name.data() != p ||
        (s.name.size() | s.raw_labels_size | s.value_text.size() | s.timestamp_text.size()) >=
            sample_line_sizes::no_block) {
        return nullptr;
    }
    const char* q = p + s.name.size();
    sizes.name = static_cast<std::uint16_t>(s.name.size());
    sizes.block = sample_line_sizes::no_block;
    if (s.has_raw_labels()) {
        q += 1 + s.raw_labels_size;  // past `{` and the block: the parser saw `}` here
        if (q >= end || *q != '}') {
            return nullptr;
        }
        sizes.block = static_cast<std::uint16_t>(s.raw_labels_size);
        ++q;
    } else if (end - q > 2 && q[0] == '{' && q[1] == '}') {
        sizes.block = 0;
        q += 2;
    }
    if (s.value_text.data() != q + 1 || *q != ' ') {
        return nullptr;
    }
    sizes.value = static_cast<std::uint16_t>(s.value_text.size());
    sizes.timestamp = static_cast<std::uint16_t>(s.timestamp_text.size());
    q = s.value_text.data() + s.value_text.size();
    if (!s.timestamp_text.empty()) {
        if (s.timestamp_text.data() != q + 1 || *q != ' ') {
            return nullptr;
        }
        q = s.timestamp_text.data() + s.timestamp_text.size();
    }
    return q == end || *q == '\n' ? q : nullptr;
}

// Writes the sizes of `f`'s lines to `sizes` and returns true when its samples are canonical
// lines of `input`, one after the other; otherwise returns false.
bool family_lines(const parsed_exposition& parsed, const family& f, std::string_view input,
                  sample_line_sizes* sizes) {
    if (f.samples.count == 0) {
        return false;
    }
    const char* const end = input.data() + input.size();
    const char* p = parsed.samples[f.samples.first].name.data();
    if (p < input.data() || p >= end) {
        return false;
    }
    const sample* const samples = parsed.samples.data() + f.samples.first;
    for (std::uint32_t i = 0; i < f.samples.count; ++i) {
        const char* const line_end = canonical_line(samples[i], p, end, sizes[i]);
        if (line_end == nullptr) {
            return false;
        }
        p = line_end + 1;
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
    std::vector<sample_line_sizes>& line_sizes = sizes;
    line_sizes.resize(parsed.samples.size());
    first_size.clear();
    std::size_t as_lines = 0;
    std::size_t kept_samples = 0;
    std::uint32_t used = 0;
    for (const family& f : parsed.families) {
        if (family_lines(parsed, f, input, line_sizes.data() + used)) {
            first_size.push_back(used);
            used += f.samples.count;
            ++as_lines;
        } else {
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
    lines.line_sizes.assign(line_sizes.begin(), line_sizes.begin() + used);
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
