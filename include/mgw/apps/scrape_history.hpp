// Apps module: the last scrape of each recently scraped app (instances up and down, how long
// the fan-out took, failures by reason), kept for the status console. Bounded to the most
// recently scraped apps; thread-safe, one short lock per scrape and per read.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace mgw::apps {

// One merged answer's scrape, as app_metrics_service decided it.
struct app_scrape_record {
    std::string key;         // the app GUID (canonical) when known, else the identifier
    std::string identifier;  // as requested (org/space/app, GUID or route), unescaped
    std::string app_guid;    // empty when no instance or source named one
    std::string org;         // CF names from the first instance's tags; empty when unknown
    std::string space;
    std::string app;
    std::chrono::steady_clock::time_point at{};  // when the answer was decided
    std::size_t instances_up = 0;
    std::size_t instances_down = 0;
    std::size_t contributions = 0;  // pushed, connected and exporter sources merged
    std::chrono::steady_clock::duration duration{};  // fan-out: instances and sources
    int status = 0;                                  // HTTP status of the answer
    std::map<std::string, std::size_t> errors;       // failed instances by failure_reason()
};

class scrape_history {
  public:
    // Apps kept by default: a page a person reads, and a few hundred short records.
    static constexpr std::size_t default_capacity = 256;

    explicit scrape_history(std::size_t capacity = default_capacity);

    // Replaces the app's previous record (same key). A new app beyond the capacity evicts the
    // app scraped longest ago.
    void record(app_scrape_record record);

    // The records, most recent first.
    std::vector<app_scrape_record> snapshot() const;

    std::size_t capacity() const { return capacity_; }

  private:
    struct entry {
        app_scrape_record record;
        std::uint64_t sequence = 0;
    };

    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::map<std::string, entry, std::less<>> entries_;
    std::uint64_t next_sequence_ = 0;
};

}  // namespace mgw::apps
