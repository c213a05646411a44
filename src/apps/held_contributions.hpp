// Apps module (internal): the sources' side of one merged answer. What the sources handed over
// (their bytes and parsed series) is leased like the instances' bodies, counted as they are
// (repairs, unreadable contributions) and prepared for the merger.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include <mgw/apps/app_source.hpp>
#include <mgw/core/log.hpp>
#include <mgw/core/memory_budget.hpp>

#include "answer_counters.hpp"
#include "answer_decision.hpp"

namespace mgw::apps {

struct held_contributions {
    core::memory_lease lease;
    // One per contribution, sized once (the merger keeps views into them); those that were no
    // exposition are not `ok`.
    std::vector<prepared_contribution> prepared;
    bool memory_refused = false;  // the ceiling refused them: the answer is a 503
};

// `memory`: null without a ceiling. `app`: for the log line of an unreadable contribution.
held_contributions hold_contributions(const std::vector<contributed_exposition>& contributed,
                                      core::memory_budget* memory, answer_counters& counters,
                                      core::logger& log, std::string_view app);

}  // namespace mgw::apps
