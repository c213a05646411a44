// The allocator gives freed large buffers back: leased bytes are resident bytes, and bytes given
// back leave the resident set, even after a large block was freed (which makes glibc's dynamic
// threshold keep later ones in its heaps) and with small allocations between the large ones.
#include <cstring>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/core/allocator.hpp>
#include <mgw/core/memory_budget.hpp>

// ASan's allocator ignores mallopt and keeps freed blocks in its quarantine.
#if !defined(__SANITIZE_ADDRESS__)
namespace {

// Keeps the compiler from eliding an allocation and the stores into it.
void escape(void* p) {
    asm volatile("" : : "g"(p) : "memory");
}

}  // namespace

TEST_CASE("freed large buffers leave the resident set") {
    REQUIRE(mgw::core::bound_allocator_retention());
    constexpr std::size_t big = std::size_t{2} << 20;
    {
        // A large block freed: glibc would now serve blocks up to this size from its heaps.
        auto warm = std::make_unique<char[]>(4 * big);
        std::memset(warm.get(), 1, 4 * big);
        escape(warm.get());
    }
    const auto before = mgw::core::resident_bytes();
    REQUIRE(before);
    std::vector<std::unique_ptr<char[]>> large;
    std::vector<std::unique_ptr<char[]>> small;
    for (int i = 0; i < 32; ++i) {
        large.push_back(std::make_unique<char[]>(big));
        std::memset(large.back().get(), 1, big);
        escape(large.back().get());
        small.push_back(std::make_unique<char[]>(64));  // pins the heap above each large one
        escape(small.back().get());
    }
    const auto full = mgw::core::resident_bytes();
    CHECK(*full >= *before + 32 * big);
    large.clear();
    const auto after = mgw::core::resident_bytes();
    CHECK(*after < *before + 4 * big);
}
#endif
