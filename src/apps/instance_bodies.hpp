// Apps module (internal): the instances' side of one merged answer. The scraper hands each body
// over on its instance's strand as soon as it arrived (`take`), where it is read leniently and
// its lease grown by the parsed series, so parsing runs on every I/O thread and overlaps the
// fetches still in flight. The views of the parsed expositions point into the bodies kept here
// until the answer is written.
#pragma once

#include <atomic>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include <mgw/apps/instance_labels.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>
#include <mgw/exposition/model.hpp>
#include <mgw/exposition/parser.hpp>
#include <mgw/routes/route_snapshot.hpp>
#include <mgw/scrape/result.hpp>

#include "answer_counters.hpp"
#include "scrape_report.hpp"

namespace mgw::apps {

class instance_bodies {
  public:
    // One slot per endpoint, each outcome labelled with the endpoint's CF labels (`labels`,
    // one per endpoint, must outlive this).
    instance_bodies(const routes::endpoint_list& endpoints,
                    const std::vector<instance_labels>& labels, answer_counters& counters,
                    core::logger& log);
    instance_bodies(const instance_bodies&) = delete;
    instance_bodies& operator=(const instance_bodies&) = delete;

    // The scraper's callback for instance `i`: takes the body and its lease over and reads it.
    // Bodies of different instances may arrive on different threads at once.
    void take(std::size_t i, scrape::scrape_result& result);

    // The memory ceiling refused a body, its parsed series or (later) the sources'
    // contributions: the answer is a 503 and everything held goes back.
    bool memory_refused() const { return memory_refused_; }
    void refuse_memory() { memory_refused_ = true; }

    std::span<const exposition::parsed_exposition> expositions() const { return expositions_; }
    std::span<instance_outcome> outcomes() { return outcomes_; }
    std::span<const instance_outcome> outcomes() const { return outcomes_; }

  private:
    const routes::endpoint_list& endpoints_;
    answer_counters& counters_;
    core::logger& log_;
    // Sized once, never reallocated: the parsed views point into the bodies.
    std::vector<std::string> bodies_;
    std::vector<core::memory_lease> leases_;
    std::vector<exposition::parsed_exposition> expositions_;
    std::vector<instance_outcome> outcomes_;
    std::vector<exposition::leniency_report> repairs_;
    std::atomic<bool> memory_refused_{false};
};

// What a parsed exposition holds beside its body, and what the merger keeps per family of it:
// leased like the body, since a merge holds both until its answer is written.
std::size_t parsed_bytes(const exposition::parsed_exposition& parsed);

}  // namespace mgw::apps
