// Unit tests: the pull's accounting and learning, and the identity outcomes, without a socket.
// Each pull outcome is counted on the gateway's counter and the original's timer (sizes for
// successes only), failures are logged; a trusted client's first successful answer names its
// app or leaves it anonymous; refused identities are counted and logged, rate-limited, never
// with the key.
#include "pull.hpp"

#include <algorithm>
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <prometheus/registry.h>

#include "client_registry.hpp"
#include "identity_outcomes.hpp"
#include "idle_clients.hpp"
#include "proxy_metrics.hpp"

using namespace mgw::rsocket;
using mgw::rsocket::testing::idle_clients;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr const char* shop = "2f1e0d9c-8b7a-4654-a321-0fedcba98765";

// What a logger writes, read back from a pipe.
class captured_log {
  public:
    captured_log() {
        REQUIRE(::pipe(fds_) == 0);
        REQUIRE(::fcntl(fds_[0], F_SETFL, O_NONBLOCK) == 0);
    }
    ~captured_log() {
        ::close(fds_[0]);
        ::close(fds_[1]);
    }
    captured_log(const captured_log&) = delete;
    captured_log& operator=(const captured_log&) = delete;

    int fd() const { return fds_[1]; }
    // Everything written since the last call.
    std::string take() {
        std::string out;
        char buffer[4096];
        ssize_t n = 0;
        while ((n = ::read(fds_[0], buffer, sizeof buffer)) > 0) {
            out.append(buffer, static_cast<std::size_t>(n));
        }
        return out;
    }

  private:
    int fds_[2] = {-1, -1};
};

std::size_t lines(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

double pulls(proxy_counters& counters, const std::string& outcome) {
    return counters.pulls.Add({{"outcome", outcome}}).Value();
}

double identities(proxy_counters& counters, const std::string& result) {
    return counters.identities.Add({{"result", result}}).Value();
}

// The original's scrape timer (a summary) for one tag pair: how many pulls it timed, 0 when
// none.
std::uint64_t timed(original_metrics& original, const std::string& outcome,
                    const std::string& exception) {
    for (const auto& family : original.registry.Collect()) {
        if (family.name != "prometheus_proxy_scrape_seconds") {
            continue;
        }
        for (const auto& metric : family.metric) {
            std::map<std::string, std::string> labels;
            for (const auto& label : metric.label) {
                labels[label.name] = label.value;
            }
            if (labels == std::map<std::string, std::string>{{"exception", exception},
                                                             {"outcome", outcome}}) {
                return metric.summary.sample_count;
            }
        }
    }
    return 0;
}

// The original's payload size summary: (count, sum).
std::pair<std::uint64_t, double> payloads(original_metrics& original) {
    for (const auto& family : original.registry.Collect()) {
        if (family.name == "prometheus_proxy_scrape_payload_bytes" && !family.metric.empty()) {
            return {family.metric[0].summary.sample_count, family.metric[0].summary.sample_sum};
        }
    }
    return {0, 0};
}

scrape_answer answer(scrape_outcome outcome, std::string text = {}, std::string_view reason = {}) {
    scrape_answer a;
    a.outcome = outcome;
    a.text.text = std::move(text);
    a.reason = reason;
    return a;
}

}  // namespace

TEST_CASE("pull accounting: every outcome counted, the original times each and sizes successes") {
    prometheus::Registry metrics;
    proxy_counters counters(metrics);
    original_metrics original;
    captured_log captured;
    mgw::core::logger log(mgw::core::log_level::debug, mgw::core::log_format::json, captured.fd());
    const pull_recorders recorders{counters, original, log};
    const auto now = clock_type::now();

    count_pull(recorders, 7, answer(scrape_outcome::success, "up 1\n"), 0.25, now);
    CHECK(pulls(counters, "success") == 1);
    CHECK(timed(original, "success", "none") == 1);
    CHECK(payloads(original) == std::pair<std::uint64_t, double>{1, 5});
    CHECK(captured.take().empty());  // a success is not logged

    count_pull(recorders, 8, answer(scrape_outcome::timeout, {}, "timeout"), 1.0, now);
    count_pull(recorders, 9, answer(scrape_outcome::closed, {}, "closed"), 0.5, now);
    count_pull(recorders, 10, answer(scrape_outcome::decrypt, {}, "bad_padding"), 0.1, now);
    CHECK(pulls(counters, "timeout") == 1);
    CHECK(pulls(counters, "closed") == 1);
    CHECK(pulls(counters, "decrypt") == 1);
    // The original's tags: a failure is `error` with its reason, a closed connection `none`.
    CHECK(timed(original, "error", "timeout") == 1);
    CHECK(timed(original, "closed", "none") == 1);
    CHECK(timed(original, "error", "bad_padding") == 1);
    CHECK(payloads(original).first == 1);  // failures have no payload
    const std::string logged = captured.take();
    CHECK(lines(logged) == 3);
    CHECK(logged.find("rsocket pull failed") != std::string::npos);
    CHECK(logged.find("\"connection\":8") != std::string::npos);
    CHECK(logged.find("\"outcome\":\"timeout\"") != std::string::npos);
    CHECK(logged.find("\"reason\":\"bad_padding\"") != std::string::npos);

    // A pull that threw: an error for the counter, never timed by the original.
    const scrape_answer failed = count_failed_pull(recorders);
    CHECK(failed.outcome == scrape_outcome::error);
    CHECK(failed.reason == "internal");
    CHECK(failed.text.text.empty());
    CHECK(pulls(counters, "error") == 1);
    CHECK(timed(original, "error", "internal") == 0);
}

TEST_CASE("learning apps: a trusted client's first good answer names its app, or none") {
    idle_clients clients;
    prometheus::Registry metrics;
    proxy_counters counters(metrics);
    mgw::core::logger log(mgw::core::log_level::error, mgw::core::log_format::text);
    identity_outcomes outcomes(counters, log);
    client_registry registry({}, counters);

    std::vector<std::shared_ptr<connection>> pulled;
    for (int i = 0; i < 4; ++i) {
        REQUIRE(registry.admit());
        pulled.push_back(clients.make(registry.next_id()));
        REQUIRE(registry.add(pulled.back()));
        registry.ready(pulled.back(), std::nullopt, i != 2);  // the third is not learning
    }
    const std::string names_shop = std::string("up{app_id=\"") + shop + "\"} 1\n";
    std::vector<scrape_answer> answers;
    answers.push_back(answer(scrape_outcome::success, names_shop));
    answers.push_back(answer(scrape_outcome::success, "up 1\n"));
    answers.push_back(answer(scrape_outcome::success, names_shop));
    answers.push_back(answer(scrape_outcome::timeout, {}, "timeout"));

    learn_apps(registry, outcomes, pulled, answers);

    const auto of_shop = registry.clients_of_app(shop);
    REQUIRE(of_shop.size() == 1);
    CHECK(of_shop[0].client == pulled[0]);
    CHECK(of_shop[0].app.how == client_app::grounds::declared_labels);
    CHECK(identities(counters, "declared") == 1);
    CHECK(identities(counters, "anonymous") == 1);
    CHECK_FALSE(registry.learning(pulled[0]->id()));
    CHECK_FALSE(registry.learning(pulled[1]->id()));
    // A failed pull teaches nothing: the next good answer still may.
    CHECK(registry.learning(pulled[3]->id()));

    // A second pull: the clients that learnt stay as they are (not counted again); the one
    // whose pull failed learns now.
    std::vector<scrape_answer> again;
    again.push_back(answer(scrape_outcome::success, "up 1\n"));
    again.push_back(answer(scrape_outcome::success, "up 1\n"));
    again.push_back(answer(scrape_outcome::success, names_shop));
    again.push_back(answer(scrape_outcome::success, names_shop));
    learn_apps(registry, outcomes, pulled, again);
    CHECK(registry.clients_of_app(shop).size() == 2);  // the first, and the fourth now
    CHECK(identities(counters, "declared") == 2);
    CHECK(identities(counters, "anonymous") == 1);
}

TEST_CASE("identity outcomes: counted by result, refusals logged rate-limited") {
    idle_clients clients;
    prometheus::Registry metrics;
    proxy_counters counters(metrics);
    captured_log captured;
    mgw::core::logger log(mgw::core::log_level::debug, mgw::core::log_format::json, captured.fd());
    identity_outcomes outcomes(counters, log);
    const auto tcp = clients.make(3);
    const auto websocket = clients.make(4, "Websocket");

    outcomes.record(*tcp, "key");
    outcomes.record(*tcp, "declared");
    outcomes.record(*tcp, "anonymous");
    CHECK(identities(counters, "key") == 1);
    CHECK(identities(counters, "declared") == 1);
    CHECK(identities(counters, "anonymous") == 1);
    CHECK(captured.take().empty());  // joining, or not trying to, is not a warning

    outcomes.record(*websocket, "unknown_key");
    std::string logged = captured.take();
    CHECK(lines(logged) == 1);
    CHECK(logged.find("rsocket client identity refused") != std::string::npos);
    CHECK(logged.find("\"connection\":4") != std::string::npos);
    CHECK(logged.find("\"transport\":\"Websocket\"") != std::string::npos);
    CHECK(logged.find("\"result\":\"unknown_key\"") != std::string::npos);
    CHECK(logged.find("not joined to an app") != std::string::npos);

    // Within the interval: counted, not logged again.
    outcomes.record(*tcp, "revoked");
    outcomes.record(*tcp, "wrong_app");
    outcomes.record(*tcp, "malformed");
    CHECK(identities(counters, "revoked") == 1);
    CHECK(identities(counters, "wrong_app") == 1);
    CHECK(identities(counters, "malformed") == 1);
    CHECK(identities(counters, "unknown_key") == 1);
    CHECK(captured.take().empty());
}
