// The repair step of a lenient read: makes one family of a parsed exposition writable as valid
// Prometheus text and valid OpenMetrics, whatever its source allowed, by the per-metric rules
// of OpenMetrics (the stricter of the two formats on one family's samples).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mgw/exposition/model.hpp"
#include "mgw/exposition/parser.hpp"

namespace mgw::exposition::detail {

// `fam` is the last family of `out`: its samples are the tail of out.samples. Repairs them in
// place (they may be reordered, dropped, or joined by a synthesised `+Inf` bucket; labels may
// be appended to out.labels), updates fam.samples.count and notes every change in `report`.
// `blocks`: when the family was joined from repeated blocks, the offset of each block's first
// sample in the family (ascending, the first 0): a metric (label set) is then kept from the
// first block that has it only, as Prometheus keeps the first of repeated samples, and its
// repeated series go even where OpenMetrics would allow them. Allocates nothing for a family
// that needs no repair, once the per-thread scratch has grown.
void conform_family(parsed_exposition& out, family& fam, leniency_report& report,
                    std::span<const std::uint32_t> blocks = {});

// Marks a family entry that is a family's first block in `continues`.
inline constexpr std::uint32_t first_block = UINT32_MAX;

// The last step of a lenient read that met repeated families: out.families holds blocks, and
// continues[i] names the entry block i continues (first_block for a family's first block).
// Each family's blocks are put together, in input order, where its first block was; the
// joined families go through conform_family. Does nothing when no block continues another.
void join_family_blocks(parsed_exposition& out, const std::vector<std::uint32_t>& continues,
                        leniency_report& report);

}  // namespace mgw::exposition::detail
