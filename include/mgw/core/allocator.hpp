// What the process's allocator keeps after a buffer is freed. The memory budget bounds the bytes
// buffers hold (limits.memory); that bound is a bound on the resident set only if the allocator
// does not hold freed memory beyond it. Two of glibc's defaults are fixed here:
// - its mmap threshold rises to the size of each large block freed (up to 32 MiB), after which
//   such blocks come from its heaps, where freed memory stays resident as long as any small
//   allocation sits above it: measured in the chaos test, 100-150 MiB stayed resident with
//   16 MiB leased. Large blocks are mapped on their own and unmapped when freed.
// - it gives the top of a heap back as soon as 128 KiB of it is free. A merged answer frees its
//   bodies and parsed series together (170 MiB for 1,000 instances x 1,000 series) and the next
//   answer needs as much again, so every page was faulted in again: 35,000 minor faults, about
//   9 % of the answer's CPU. A bounded amount of freed heap is kept for the next answer, in one
//   arena: with one per thread, each kept its own and the peak RSS grew by 25 MiB.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mgw::core {

// Blocks of this size or more are mapped on their own and unmapped when freed: the buffers
// that leases cover (bodies, frames, answers) are that large, what stays in the heaps is not.
inline constexpr std::size_t own_mapping_bytes = std::size_t{128} << 10;

// Freed heap kept for reuse under a memory ceiling of `memory_limit` bytes: an eighth of it,
// at most 256 MiB (what the 2 GiB default gives).
std::size_t kept_heap_bytes(std::uint64_t memory_limit);

// Fixes the allocator's mmap threshold at own_mapping_bytes (which also stops glibc from moving
// it), keeps up to `kept_bytes` of freed heap, and uses one arena. Call once at start, before
// the threads. False where the allocator does not support it.
bool bound_allocator_retention(std::size_t kept_bytes);

}  // namespace mgw::core
