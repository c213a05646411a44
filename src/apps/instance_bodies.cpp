// Apps module: the instances' side of one merged answer (instance_bodies.hpp).
#include "instance_bodies.hpp"

#include "answer_decision.hpp"

namespace mgw::apps {

namespace {

// Gives a string's memory back (assigning an empty string may keep the buffer).
void release(std::string& text) {
    std::string().swap(text);
}

}  // namespace

std::size_t parsed_bytes(const exposition::parsed_exposition& parsed) {
    constexpr std::size_t merger_bytes_per_family = 64;
    return parsed.families.capacity() * (sizeof(exposition::family) + merger_bytes_per_family) +
           parsed.samples.capacity() * sizeof(exposition::sample) +
           parsed.labels.capacity() * sizeof(exposition::label) +
           parsed.exemplars.capacity() * sizeof(exposition::exemplar);
}

instance_bodies::instance_bodies(const routes::endpoint_list& endpoints,
                                 const std::vector<instance_labels>& labels,
                                 answer_counters& counters, core::logger& log)
    : endpoints_(endpoints),
      counters_(counters),
      log_(log),
      bodies_(endpoints.size()),
      leases_(endpoints.size()),
      expositions_(endpoints.size()),
      outcomes_(endpoints.size()),
      repairs_(endpoints.size()) {
    for (std::size_t i = 0; i < outcomes_.size() && i < labels.size(); ++i) {
        outcomes_[i].labels = &labels[i];
    }
}

void instance_bodies::take(std::size_t i, scrape::scrape_result& result) {
    if (result.error == scrape::scrape_error::memory) {
        memory_refused_ = true;
    }
    if (!result.ok() || memory_refused_) {
        return;
    }
    bodies_[i] = std::move(result.body);
    leases_[i] = std::move(result.lease);
    if (auto read = read_instance_body(bodies_[i], result.content_type, expositions_[i],
                                       repairs_[i], outcomes_[i]);
        !read) {
        counters_.parse_errors.Increment();
        log_.debug("instance body rejected",
                   {{"instance", endpoints_[i]->address}, {"error", read.error().message()}});
        return;
    }
    if (!leases_[i].grow(parsed_bytes(expositions_[i]))) {
        memory_refused_ = true;
        outcomes_[i].up = false;  // the 503 tells nothing of it
        expositions_[i] = {};
        release(bodies_[i]);
        leases_[i].reset();
        return;
    }
    counters_.count(repairs_[i]);
    if (!repairs_[i].empty() && log_.enabled(core::log_level::debug)) {
        log_.debug("instance body repaired",
                   {{"instance", endpoints_[i]->address},
                    {"first_change", exposition::leniency_report::describe(
                                         repairs_[i].notes().front(), bodies_[i])}});
    }
}

}  // namespace mgw::apps
