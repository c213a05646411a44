// The parallel pull: one coroutine per client on its strand, joined by a parallel group.
#include "pull.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/use_awaitable.hpp>

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
            recorders.counters.pulls.Add({{"outcome", "error"}}).Increment();
            answers[i].outcome = scrape_outcome::error;
            answers[i].reason = "internal";
            continue;
        }
        auto& [answer, seconds] = results[i];
        recorders.counters.pulls.Add({{"outcome", std::string(to_string(answer.outcome))}})
            .Increment();
        const bool ok = answer.outcome == scrape_outcome::success;
        recorders.original.record_scrape(
            original_outcome(answer.outcome), original_exception(answer), seconds,
            ok ? std::optional<std::size_t>(answer.text.text.size()) : std::nullopt, clock::now());
        if (!ok) {
            recorders.log.debug("rsocket pull failed", {{"connection", clients[i]->id()},
                                                        {"outcome", to_string(answer.outcome)},
                                                        {"reason", answer.reason}});
        }
        answers[i] = std::move(answer);
    }
    co_return answers;
}

}  // namespace mgw::rsocket
