// One line of a family kept as lines (sample_lines.hpp), read and written without going through
// the family's samples: the merged answer's hot loop for such a family.
#pragma once

#include <string>

#include <mgw/exposition/model.hpp>
#include <mgw/exposition/writer.hpp>

namespace mgw::exposition::detail {

// Reads the sample line at `p`, whose parts have `sizes`, into `s`: name, raw block, value text
// and timestamp text; `s.value` is left as it was (parse_number reads it). Returns where the next
// line starts.
const char* read_sample_line(const char* p, const sample_line_sizes& sizes, sample& s);

// Where the sample line at `p`, whose parts have `sizes`, ends (its '\n' or the input's end).
const char* sample_line_end(const char* p, const sample_line_sizes& sizes);

// append_sample (sample_writer.hpp) for a sample read by read_sample_line, whose `value` is not
// read yet: a Prometheus text line that the output writes as it was read but for the injected
// labels is copied with them inserted before its `}`; anything else has its value read and
// goes through append_sample. The output is the same bytes. `may_collide`: whether a raw block
// of `f` can hold an injected name (family::raw_label_name_bits); when not, none is looked for.
void append_sample_line(std::string& out, const parsed_exposition& src, const family& f, sample& s,
                        const prepared_labels& injected, bool drop_colliding,
                        const writer_options& opts, bool family_name_legacy, bool may_collide);

}  // namespace mgw::exposition::detail
