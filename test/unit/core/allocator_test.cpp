// The allocator gives freed large buffers back: leased bytes are resident bytes, and bytes given
// back leave the resident set, even after a large block was freed (which makes glibc's dynamic
// threshold keep later ones in its heaps) and with small allocations between the large ones.
// Freed heap is kept for reuse up to the bound it was given, and given back beyond it.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include <catch2/catch.hpp>

#include <mgw/core/allocator.hpp>
#include <mgw/core/memory_budget.hpp>

TEST_CASE("the heap kept for reuse is an eighth of the memory ceiling, at most 256 MiB") {
    CHECK(mgw::core::kept_heap_bytes(std::uint64_t{2} << 30) == std::size_t{256} << 20);
    CHECK(mgw::core::kept_heap_bytes(std::uint64_t{64} << 30) == std::size_t{256} << 20);
    CHECK(mgw::core::kept_heap_bytes(std::uint64_t{256} << 20) == std::size_t{32} << 20);
    CHECK(mgw::core::kept_heap_bytes(0) == 0);
}

// ASan's allocator ignores mallopt and keeps freed blocks in its quarantine.
#if !defined(__SANITIZE_ADDRESS__)
namespace {

// Keeps the compiler from eliding an allocation and the stores into it.
void escape(void* p) {
    asm volatile("" : : "g"(p) : "memory");
}

}  // namespace

TEST_CASE("freed large buffers leave the resident set") {
    REQUIRE(mgw::core::bound_allocator_retention(std::size_t{8} << 20));
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
TEST_CASE("freed heap is kept up to its bound and given back beyond it") {
    constexpr std::size_t kept = std::size_t{8} << 20;
    REQUIRE(mgw::core::bound_allocator_retention(kept));
    constexpr std::size_t block = std::size_t{64} << 10;  // below the own-mapping threshold
    std::vector<std::unique_ptr<char[]>> blocks;
    blocks.reserve(256);
    auto fill_and_free = [&](std::size_t count) {
        for (std::size_t i = 0; i < count; ++i) {
            blocks.push_back(std::make_unique<char[]>(block));
            std::memset(blocks.back().get(), 1, block);
            escape(blocks.back().get());
        }
        while (!blocks.empty()) {
            blocks.pop_back();  // newest first: each joins the free top of the heap
        }
    };
    const auto before = mgw::core::resident_bytes();
    REQUIRE(before);
    // 4 MiB freed: under the bound, still resident for the next use.
    fill_and_free(64);
    const auto kept_after = mgw::core::resident_bytes();
    CHECK(*kept_after >= *before + 3 * (std::size_t{1} << 20));
    // 16 MiB freed: over the bound, the free top goes back.
    fill_and_free(256);
    const auto trimmed_after = mgw::core::resident_bytes();
    CHECK(*trimmed_after < *before + 2 * (std::size_t{1} << 20));
}
#endif
