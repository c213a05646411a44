// Samples kept as the lines they were read from. A merged answer holds every source's parsed
// samples until it is written, and a sample (72 bytes) is as large as the Prometheus text line it
// came from: for the common family, whose every sample is a canonical line (`name{block} value`,
// single spaces, no exemplar), the lines themselves are enough to read the samples again when
// they are written. Such a family holds no samples; the merger expands one family at a time.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <mgw/exposition/model.hpp>

namespace mgw::exposition {

// Replaces `lines` with a copy of `parsed` (read from `input`, the buffer it was parsed from)
// in which every family whose samples are all canonical lines of `input`, on consecutive lines,
// is kept as lines (family::samples_as_lines): Prometheus text read with
// label_storage::raw_when_canonical and nothing repaired, the labels in a raw block or none,
// single spaces, no exemplar. The other families keep their samples. Returns how many families
// were kept as lines; when none could be (or `parsed` is OpenMetrics, or holds synthesised text),
// returns 0 and leaves `lines` alone.
std::size_t copy_as_sample_lines(const parsed_exposition& parsed, std::string_view input,
                                 parsed_exposition& lines);

// Appends the samples of `f`, a family of `lines` kept as lines, to `out`, each as the parser
// read it (name, raw block, value and its number, timestamp).
void expand_samples(const parsed_exposition& lines, const family& f, std::vector<sample>& out);

}  // namespace mgw::exposition
