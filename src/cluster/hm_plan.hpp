// Cluster module: the pure part of HM event distribution across nodes (issue 15). Which NATS
// subject carries the events, which queue group an id's members join, and when this node holds
// or drops the queue subscription of an id, apart from any socket so it can be unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mgw::cluster {

// mgw.<name>.hm.ev: the ingest node publishes each accepted HM line on it once.
std::string hm_event_subject(std::string_view cluster_name);
// 16 lowercase hex digits of a 64-bit FNV-1a hash: subscription ids are chosen by clients and
// may hold characters a NATS queue name cannot, so the queue is named after a hash.
std::string hash16(std::string_view id);
// hm.<hash16(id)>: every node's subscription for the same id joins this group, so NATS hands
// each event to one member cluster-wide; other ids are other groups and get their own copy.
std::string hm_queue(std::string_view subscription_id);

// What this node should do to NATS so that it holds exactly one queue subscription per
// subscription id with local clients.
struct hm_action {
    enum class kind { subscribe, unsubscribe };
    kind what;
    std::string id;
};

// Reconciles the ids that have local clients with the queue subscriptions held. The shell calls
// step() with the current ids (when clients attach or leave, and periodically), carries out the
// actions, and reports a subscribe that failed (no connection yet) with failed(), so that the
// next step() tries it again.
class hm_subscription_plan {
  public:
    std::vector<hm_action> step(const std::set<std::string, std::less<>>& wanted);
    void failed(std::string_view id);
    bool holds(std::string_view id) const;
    std::size_t held() const { return held_.size(); }

  private:
    std::set<std::string, std::less<>> held_;
};

}  // namespace mgw::cluster
