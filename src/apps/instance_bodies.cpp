// Apps module: the instances' side of one merged answer (instance_bodies.hpp).
#include "instance_bodies.hpp"

#include <mgw/exposition/sample_lines.hpp>

#include "answer_decision.hpp"

namespace mgw::apps {

namespace {

// Gives a string's memory back (assigning an empty string may keep the buffer).
void release(std::string& text) {
    std::string().swap(text);
}

// Where each thread reads a body before its samples are kept as lines. It keeps the capacity
// of the largest body read since, up to this many samples' worth; a larger one is given back.
constexpr std::size_t kept_scratch_samples = 1 << 16;

exposition::parsed_exposition& read_scratch() {
    thread_local exposition::parsed_exposition scratch;
    return scratch;
}

void trim(exposition::parsed_exposition& scratch) {
    if (scratch.samples.capacity() > kept_scratch_samples) {
        scratch = {};
    }
}

}  // namespace

std::size_t parsed_bytes(const exposition::parsed_exposition& parsed) {
    constexpr std::size_t merger_bytes_per_family = 64;
    return parsed.families.capacity() * (sizeof(exposition::family) + merger_bytes_per_family) +
           parsed.samples.capacity() * sizeof(exposition::sample) +
           parsed.labels.capacity() * sizeof(exposition::label) +
           parsed.exemplars.capacity() * sizeof(exposition::exemplar) +
           parsed.line_sizes.capacity() * sizeof(exposition::sample_line_sizes);
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
    // Read into this thread's scratch, then held with the families whose samples are all
    // canonical lines (the common case) kept as lines (sample_lines.hpp); a body with none
    // keeps its samples as read.
    exposition::parsed_exposition& scratch = read_scratch();
    if (auto read =
            read_instance_body(bodies_[i], result.content_type, scratch, repairs_[i], outcomes_[i]);
        !read) {
        counters_.parse_errors.Increment();
        log_.debug("instance body rejected",
                   {{"instance", endpoints_[i]->address}, {"error", read.error().message()}});
        trim(scratch);
        return;
    }
    if (!repairs_[i].empty() ||
        exposition::copy_as_sample_lines(scratch, bodies_[i], expositions_[i]) == 0) {
        std::swap(scratch, expositions_[i]);
    }
    scratch.clear();
    trim(scratch);
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
