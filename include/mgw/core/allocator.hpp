// What the process's allocator keeps after a buffer is freed. The memory budget bounds the bytes
// buffers hold (limits.memory); that bound is a bound on the resident set only if a freed buffer
// leaves it. glibc's malloc raises its mmap threshold to the size of each large block freed
// (up to 32 MiB), after which such blocks come from its heaps, where freed memory stays resident
// as long as any small allocation sits above it: measured in the chaos test, 100-150 MiB stayed
// resident with 16 MiB leased.
#pragma once

#include <cstddef>

namespace mgw::core {

// Blocks of this size or more are mapped on their own and unmapped when freed: the buffers
// that leases cover (bodies, frames, answers) are that large, what stays in the heaps is not.
inline constexpr std::size_t own_mapping_bytes = std::size_t{128} << 10;

// Fixes the allocator's mmap threshold at own_mapping_bytes (which also stops glibc from moving
// it). Call once at start, before the threads. False where the allocator does not support it.
bool bound_allocator_retention();

}  // namespace mgw::core
