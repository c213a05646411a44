// Apps module (internal): the counters of the merged app answer, shared by its steps (the
// instance bodies, the sources' contributions, the answer itself).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>

#include <mgw/exposition/parser.hpp>

namespace mgw::apps {

struct answer_counters {
    prometheus::Family<prometheus::Counter>& fetch_success;
    prometheus::Family<prometheus::Counter>& fetch_failed;
    prometheus::Counter& type_conflicts;
    prometheus::Counter& parse_errors;
    prometheus::Counter& source_errors;
    prometheus::Family<prometheus::Counter>& repairs;

    explicit answer_counters(prometheus::Registry& registry);

    // Counts what a lenient read of one source changed.
    void count(const exposition::leniency_report& report);
};

}  // namespace mgw::apps
