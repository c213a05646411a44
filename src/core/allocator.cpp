// Fixing glibc's mmap threshold (see allocator.hpp); a no-op elsewhere.
#include <mgw/core/allocator.hpp>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mgw::core {

bool bound_allocator_retention() {
#if defined(__GLIBC__)
    // Setting it by hand also turns off the dynamic threshold (mallopt(3)).
    return ::mallopt(M_MMAP_THRESHOLD, static_cast<int>(own_mapping_bytes)) == 1;
#else
    return false;
#endif
}

}  // namespace mgw::core
