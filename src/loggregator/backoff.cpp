// splitmix64 for the jitter: tiny, seedable, and good enough to spread retries.
#include "backoff.hpp"

#include <algorithm>
#include <cmath>

namespace mgw::loggregator {

backoff::backoff(backoff_options options, std::uint64_t seed)
    : options_(options), current_(options.initial), state_(seed) {}

double backoff::uniform() {
    state_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
}

std::chrono::milliseconds backoff::next() {
    const double factor = 1.0 + options_.jitter * (2.0 * uniform() - 1.0);
    const auto delay =
        std::chrono::milliseconds(std::llround(static_cast<double>(current_.count()) * factor));
    const double grown = static_cast<double>(current_.count()) * options_.multiplier;
    current_ = std::chrono::milliseconds(
        std::llround(std::min(grown, static_cast<double>(options_.max.count()))));
    return std::max(delay, std::chrono::milliseconds(1));
}

}  // namespace mgw::loggregator
