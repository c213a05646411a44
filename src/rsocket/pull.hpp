// RSocket module (internal): the pull of a set of clients by a deadline. All in parallel, each
// by the same deadline, with every outcome counted; and where the operator trusts declared
// identities, what a client's first answer teaches about its app. The accounting and the
// learning are plain functions, tested without sockets; pull_all and client_pull only do I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <mgw/core/log.hpp>
#include <mgw/rsocket/connection.hpp>

namespace mgw::rsocket {

struct proxy_counters;
struct original_metrics;
class client_registry;
class identity_outcomes;

struct pull_recorders {
    proxy_counters& counters;
    original_metrics& original;
    core::logger& log;
};

// One client's pull ended with `answer` after `seconds`: counted on mgw_rsocket_pulls_total
// and in the original's scrape timer and payload size (on success); a failure is logged.
void count_pull(const pull_recorders& recorders, std::uint64_t client, const scrape_answer& answer,
                double seconds, std::chrono::steady_clock::time_point now);
// A pull that ended with an exception instead of an answer: counted as an error, and the
// answer that stands for it (error, reason "internal").
scrape_answer count_failed_pull(const pull_recorders& recorders);

// The answers in the order of `clients`. Completes by `deadline` (each client's pull ends
// then, with a CANCEL to the client).
boost::asio::awaitable<std::vector<scrape_answer>> pull_all(
    const std::vector<std::shared_ptr<connection>>& clients,
    std::chrono::steady_clock::time_point deadline, pull_recorders recorders);

// What the answers of `clients` (same order) teach: a client still learning its app joins the
// one its labels name (declared) or stays anonymous, recorded as such. Only successful answers
// teach; a client not learning is left as it is.
void learn_apps(client_registry& registry, identity_outcomes& identities,
                const std::vector<std::shared_ptr<connection>>& clients,
                const std::vector<scrape_answer>& answers);

// The pull every part of the proxy uses (the endpoints, the app source, the observer for a
// trusted client's first pull).
class client_pull {
  public:
    client_pull(client_registry& registry, identity_outcomes& identities, pull_recorders recorders,
                bool trust_declared_app_identity, std::chrono::milliseconds scrape_timeout);

    // Pulls `clients` by `deadline`; where declarations are trusted, learns the apps their
    // labels name.
    boost::asio::awaitable<std::vector<scrape_answer>> pull(
        const std::vector<std::shared_ptr<connection>>& clients,
        std::chrono::steady_clock::time_point deadline);
    // The first pull of a trusted client whose SETUP names no app, off every app's path.
    boost::asio::awaitable<void> learn_app(std::shared_ptr<connection> c);

  private:
    client_registry& registry_;
    identity_outcomes& identities_;
    pull_recorders recorders_;
    bool trust_declared_app_identity_;
    std::chrono::milliseconds scrape_timeout_;
};

}  // namespace mgw::rsocket
