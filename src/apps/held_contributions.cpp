// Apps module: the sources' side of one merged answer (held_contributions.hpp).
#include "held_contributions.hpp"

#include "instance_bodies.hpp"

namespace mgw::apps {

held_contributions hold_contributions(const std::vector<contributed_exposition>& contributed,
                                      core::memory_budget* memory, answer_counters& counters,
                                      core::logger& log, std::string_view app) {
    held_contributions held;
    if (memory != nullptr) {
        held.lease = memory->empty_lease(core::memory_use::scrape_bodies);
        std::size_t bytes = 0;
        for (const contributed_exposition& c : contributed) {
            bytes += c.storage_bytes;
        }
        if (!held.lease.grow(bytes)) {
            held.memory_refused = true;
            return held;
        }
    }
    held.prepared.resize(contributed.size());
    for (std::size_t i = 0; i < contributed.size(); ++i) {
        counters.count(contributed[i].repairs);
        if (!held.prepared[i].prepare(contributed[i])) {
            counters.source_errors.Increment();
            log.error("app source contribution not parsable",
                      {{"app", app}, {"error", contributed[i].error->message()}});
            continue;
        }
        if (!held.lease.grow(parsed_bytes(contributed[i].parsed))) {
            held.memory_refused = true;
            return held;
        }
    }
    return held;
}

}  // namespace mgw::apps
