// The bounded record of recent app scrapes that the status console shows: one entry per app,
// the oldest app forgotten first, so the memory it holds does not grow with the platform.
#include <algorithm>

#include <mgw/apps/scrape_history.hpp>

namespace mgw::apps {

scrape_history::scrape_history(std::size_t capacity)
    : capacity_(std::max<std::size_t>(capacity, 1)) {}

void scrape_history::record(app_scrape_record record) {
    std::lock_guard lock(mutex_);
    const std::uint64_t sequence = next_sequence_++;
    if (const auto it = entries_.find(record.key); it != entries_.end()) {
        it->second = {std::move(record), sequence};
        return;
    }
    if (entries_.size() >= capacity_) {
        // Only a new app beyond the capacity scans: at most capacity_ short comparisons.
        const auto oldest = std::min_element(
            entries_.begin(), entries_.end(),
            [](const auto& a, const auto& b) { return a.second.sequence < b.second.sequence; });
        entries_.erase(oldest);
    }
    std::string key = record.key;
    entries_.emplace(std::move(key), entry{std::move(record), sequence});
}

std::vector<app_scrape_record> scrape_history::snapshot() const {
    std::vector<const entry*> ordered;
    std::vector<app_scrape_record> out;
    std::lock_guard lock(mutex_);
    ordered.reserve(entries_.size());
    for (const auto& [key, e] : entries_) {
        ordered.push_back(&e);
    }
    std::sort(ordered.begin(), ordered.end(),
              [](const entry* a, const entry* b) { return a->sequence > b->sequence; });
    out.reserve(ordered.size());
    for (const entry* e : ordered) {
        out.push_back(e->record);
    }
    return out;
}

}  // namespace mgw::apps
