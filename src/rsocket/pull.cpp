// The parallel pull: one coroutine per client on its strand, joined by a parallel group; the
// accounting of each outcome, and the apps trusted clients' answers teach.
#include "pull.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "app_identity.hpp"
#include "client_identity.hpp"
#include "client_registry.hpp"
#include "identity_outcomes.hpp"
#include "proxy_metrics.hpp"

namespace mgw::rsocket {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

// The original's `outcome` tag: success, closed (ClosedChannelException) or error.
std::string_view original_outcome(scrape_outcome outcome) {
    switch (outcome) {
        case scrape_outcome::success:
            return "success";
        case scrape_outcome::closed:
            return "closed";
        default:
            return "error";
    }
}

// The original's `exception` tag was the failure's message; here it is the reason, which
// comes from a fixed set (a decrypt error, an RSocket error code's name, timeout, busy,
// memory). A success or a closed connection is "none", as in the original.
std::string_view original_exception(const scrape_answer& answer) {
    if (answer.outcome == scrape_outcome::success || answer.outcome == scrape_outcome::closed) {
        return "none";
    }
    return answer.reason;
}

}  // namespace

void count_pull(const pull_recorders& recorders, std::uint64_t client, const scrape_answer& answer,
                double seconds, clock::time_point now) {
    recorders.counters.pulls.Add({{"outcome", std::string(to_string(answer.outcome))}}).Increment();
    const bool ok = answer.outcome == scrape_outcome::success;
    recorders.original.record_scrape(
        original_outcome(answer.outcome), original_exception(answer), seconds,
        ok ? std::optional<std::size_t>(answer.text.text.size()) : std::nullopt, now);
    if (!ok) {
        recorders.log.debug("rsocket pull failed", {{"connection", client},
                                                    {"outcome", to_string(answer.outcome)},
                                                    {"reason", answer.reason}});
    }
}

scrape_answer count_failed_pull(const pull_recorders& recorders) {
    recorders.counters.pulls.Add({{"outcome", "error"}}).Increment();
    scrape_answer answer;
    answer.outcome = scrape_outcome::error;
    answer.reason = "internal";
    return answer;
}

asio::awaitable<std::vector<scrape_answer>> pull_all(
    const std::vector<std::shared_ptr<connection>>& clients, clock::time_point deadline,
    pull_recorders recorders) {
    std::vector<scrape_answer> answers(clients.size());
    if (clients.empty()) {
        co_return answers;
    }
    auto spawn = [&](const std::shared_ptr<connection>& c) {
        return asio::co_spawn(
            c->strand(),
            [c, deadline]() -> asio::awaitable<std::pair<scrape_answer, double>> {
                const auto start = clock::now();
                scrape_answer answer = co_await c->scrape(deadline);
                co_return std::pair{std::move(answer),
                                    std::chrono::duration<double>(clock::now() - start).count()};
            },
            asio::deferred);
    };
    std::vector<decltype(spawn(clients.front()))> operations;
    operations.reserve(clients.size());
    for (const auto& c : clients) {
        operations.push_back(spawn(c));
    }
    auto [order, exceptions, results] =
        co_await asio::experimental::make_parallel_group(std::move(operations))
            .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (exceptions[i]) {
            answers[i] = count_failed_pull(recorders);
            continue;
        }
        auto& [answer, seconds] = results[i];
        count_pull(recorders, clients[i]->id(), answer, seconds, clock::now());
        answers[i] = std::move(answer);
    }
    co_return answers;
}

void learn_apps(client_registry& registry, identity_outcomes& identities,
                const std::vector<std::shared_ptr<connection>>& clients,
                const std::vector<scrape_answer>& answers) {
    for (std::size_t i = 0; i < answers.size(); ++i) {
        if (answers[i].outcome != scrape_outcome::success || !registry.learning(clients[i]->id())) {
            continue;
        }
        const std::optional<bool> joined =
            registry.learn(clients[i]->id(), app_guid_in_labels(answers[i].text.text));
        if (joined) {
            identities.record(*clients[i], to_string(*joined ? identity_result::declared
                                                             : identity_result::anonymous));
        }
    }
}

client_pull::client_pull(client_registry& registry, identity_outcomes& identities,
                         pull_recorders recorders, bool trust_declared_app_identity,
                         std::chrono::milliseconds scrape_timeout)
    : registry_(registry),
      identities_(identities),
      recorders_(recorders),
      trust_declared_app_identity_(trust_declared_app_identity),
      scrape_timeout_(scrape_timeout) {}

asio::awaitable<std::vector<scrape_answer>> client_pull::pull(
    const std::vector<std::shared_ptr<connection>>& clients, clock::time_point deadline) {
    std::vector<scrape_answer> answers = co_await pull_all(clients, deadline, recorders_);
    if (trust_declared_app_identity_) {
        // Labels join nothing unless the operator trusts them.
        learn_apps(registry_, identities_, clients, answers);
    }
    co_return answers;
}

asio::awaitable<void> client_pull::learn_app(std::shared_ptr<connection> c) {
    const std::vector<std::shared_ptr<connection>> clients{std::move(c)};
    co_await pull(clients, clock::now() + scrape_timeout_);
}

}  // namespace mgw::rsocket
