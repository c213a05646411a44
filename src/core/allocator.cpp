// Fixing glibc's mmap and trim thresholds and its arena count (see allocator.hpp); a no-op
// elsewhere.
#include <algorithm>

#include <mgw/core/allocator.hpp>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mgw::core {

std::size_t kept_heap_bytes(std::uint64_t memory_limit) {
    constexpr std::uint64_t most = std::uint64_t{256} << 20;
    return static_cast<std::size_t>(std::min(memory_limit / 8, most));
}

bool bound_allocator_retention(std::size_t kept_bytes) {
#if defined(__GLIBC__)
    // Setting either threshold by hand also turns off the dynamic one (mallopt(3)).
    const int kept = static_cast<int>(std::min<std::size_t>(kept_bytes, INT32_MAX));
    return ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(own_mapping_bytes)) == 1 &&
           ::mallopt(M_TRIM_THRESHOLD, std::max(kept, static_cast<int>(own_mapping_bytes))) == 1 &&
           ::mallopt(M_ARENA_MAX, 1) == 1;
#else
    (void)kept_bytes;
    return false;
#endif
}

}  // namespace mgw::core
