// Naming and the subscribe/unsubscribe decisions of the cluster's HM event distribution; see
// hm_plan.hpp. No I/O.
#include "hm_plan.hpp"

namespace mgw::cluster {

std::string hm_event_subject(std::string_view cluster_name) {
    std::string subject = "mgw.";
    subject += cluster_name;
    subject += ".hm.ev";
    return subject;
}

std::string hash16(std::string_view id) {
    std::uint64_t h = 14695981039346656037ull;
    for (const char c : id) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ull;
    }
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 15; i >= 0; --i) {
        out[static_cast<std::size_t>(i)] = digits[h & 0xf];
        h >>= 4;
    }
    return out;
}

std::string hm_queue(std::string_view subscription_id) {
    return "hm." + hash16(subscription_id);
}

std::vector<hm_action> hm_subscription_plan::step(
    const std::set<std::string, std::less<>>& wanted) {
    std::vector<hm_action> actions;
    for (auto it = held_.begin(); it != held_.end();) {
        if (!wanted.contains(*it)) {
            actions.push_back({hm_action::kind::unsubscribe, *it});
            it = held_.erase(it);
        } else {
            ++it;
        }
    }
    for (const std::string& id : wanted) {
        if (held_.insert(id).second) {
            actions.push_back({hm_action::kind::subscribe, id});
        }
    }
    return actions;
}

void hm_subscription_plan::failed(std::string_view id) {
    if (const auto it = held_.find(id); it != held_.end()) {
        held_.erase(it);
    }
}

bool hm_subscription_plan::holds(std::string_view id) const {
    return held_.contains(id);
}

}  // namespace mgw::cluster
