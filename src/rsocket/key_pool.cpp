// The key pool's threads around key_schedule: workers make RSA key pairs while the schedule asks
// for them, and hand each new key pair to the waiters it was made for outside the lock.
#include <array>
#include <chrono>
#include <system_error>

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <mgw/rsocket/key_pool.hpp>

namespace mgw::rsocket {

using clock = std::chrono::steady_clock;

namespace {
// After a failed generation (OpenSSL out of memory or entropy), before the next try.
constexpr std::chrono::milliseconds retry_after_failure{200};

std::size_t worker_count(std::size_t configured) {
    return configured != 0 ? configured : std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

std::string fairness_key(const boost::asio::ip::address& address) {
    if (address.is_v4()) {
        return address.to_v4().to_string();
    }
    const boost::asio::ip::address_v6 v6 = address.to_v6();
    if (v6.is_v4_mapped()) {
        return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
    }
    const auto bytes = v6.to_bytes();
    return fmt::format("{:02x}{:02x}:{:02x}{:02x}:{:02x}{:02x}:{:02x}{:02x}::/64", bytes[0],
                       bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]);
}

struct key_pool::metrics {
    prometheus::Family<prometheus::Counter>& requests;
    std::array<prometheus::Counter*, 3> by_grant;
    prometheus::Counter& cancelled;
    prometheus::Counter& generated;
    prometheus::Counter& handed_shared;
    prometheus::Counter& failed;
    prometheus::Gauge& waiting;
    prometheus::Gauge& stock;
    prometheus::Histogram& wait_seconds;

    explicit metrics(prometheus::Registry& r)
        : requests(prometheus::BuildCounter()
                       .Name("mgw_rsocket_key_requests_total")
                       .Help("Key pairs asked for by RSocket connections after SETUP, by grant: "
                             "fresh (from the stock made ahead), queued (waits for the next one "
                             "made), refused (too many waiting: closed).")
                       .Register(r)),
          by_grant{&requests.Add({{"grant", "fresh"}}), &requests.Add({{"grant", "queued"}}),
                   &requests.Add({{"grant", "refused"}})},
          cancelled(prometheus::BuildCounter()
                        .Name("mgw_rsocket_key_requests_cancelled_total")
                        .Help("Queued key requests dropped because the connection closed first.")
                        .Register(r)
                        .Add({})),
          generated(prometheus::BuildCounter()
                        .Name("mgw_rsocket_keys_generated_total")
                        .Help("RSA key pairs made by the key pool's workers.")
                        .Register(r)
                        .Add({})),
          handed_shared(prometheus::BuildCounter()
                            .Name("mgw_rsocket_key_shared_handouts_total")
                            .Help("Queued connections given a key pair that other connections "
                                  "were given at the same instant (more waited than could be "
                                  "keyed one by one within rsocket.key_wait_target).")
                            .Register(r)
                            .Add({})),
          failed(prometheus::BuildCounter()
                     .Name("mgw_rsocket_key_generation_failures_total")
                     .Help("RSA key generations that failed (OpenSSL error); retried.")
                     .Register(r)
                     .Add({})),
          waiting(prometheus::BuildGauge()
                      .Name("mgw_rsocket_key_requests_waiting")
                      .Help("RSocket connections waiting for a key pair.")
                      .Register(r)
                      .Add({})),
          stock(prometheus::BuildGauge()
                    .Name("mgw_rsocket_key_stock")
                    .Help("RSA key pairs made ahead and not handed out yet.")
                    .Register(r)
                    .Add({})),
          wait_seconds(prometheus::BuildHistogram()
                           .Name("mgw_rsocket_key_wait_seconds")
                           .Help("How long queued key requests waited for their key pair.")
                           .Register(r)
                           .Add({}, prometheus::Histogram::BucketBoundaries{
                                        0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60})) {}
};

key_pool::key_pool(key_pool_options options, prometheus::Registry& registry, core::logger& log)
    : options_(options), log_(log), metrics_(std::make_unique<metrics>(registry)), schedule_([&] {
          key_schedule_options schedule = options.schedule;
          schedule.generators = worker_count(options.threads);
          return schedule;
      }()) {
    const std::size_t threads = worker_count(options_.threads);
    workers_.reserve(threads);
    try {
        for (std::size_t i = 0; i < threads; ++i) {
            workers_.emplace_back([this] { work(); });
        }
    } catch (...) {
        stop();
        throw;
    }
}

key_pool::~key_pool() {
    stop();
}

void key_pool::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& worker : workers_) {
        if (worker.joinable()) {
            worker.join();
        }
    }
}

key_pool::grant key_pool::request(std::string_view address, delivery deliver) {
    schedule::answer answer;
    {
        std::lock_guard lock(mutex_);
        answer = schedule_.request(address, std::move(deliver), clock::now());
        update_gauges();
    }
    metrics_->by_grant[static_cast<std::size_t>(answer.grant)]->Increment();
    if (answer.grant == key_grant::fresh || answer.grant == key_grant::queued) {
        // The stock went down or a waiter came: more key pairs may be due.
        wake_.notify_all();
    }
    return {.kind = answer.grant, .key = std::move(answer.key), .ticket = answer.id};
}

void key_pool::cancel(std::uint64_t ticket) {
    bool cancelled = false;
    {
        std::lock_guard lock(mutex_);
        cancelled = schedule_.cancel(ticket);
        update_gauges();
    }
    if (cancelled) {
        metrics_->cancelled.Increment();
    }
}

void key_pool::update_gauges() {
    metrics_->waiting.Set(static_cast<double>(schedule_.waiting()));
    metrics_->stock.Set(static_cast<double>(schedule_.stock()));
}

void key_pool::work() {
    std::unique_lock lock(mutex_);
    for (;;) {
        wake_.wait(lock, [this] { return stopping_ || schedule_.begin_generation(); });
        if (stopping_) {
            return;
        }
        lock.unlock();
        const auto started = clock::now();
        std::optional<key_pair> key = key_pair::generate(options_.bits);
        const auto finished = clock::now();
        std::vector<schedule::handout> handouts;
        lock.lock();
        if (!key) {
            schedule_.generation_failed();
            metrics_->failed.Increment();
            log_.warn("rsocket key generation failed", {{"bits", options_.bits}});
            wake_.wait_for(lock, retry_after_failure, [this] { return stopping_; });
            continue;
        }
        metrics_->generated.Increment();
        handouts = schedule_.key_made(std::move(*key), finished, finished - started);
        update_gauges();
        if (handouts.empty()) {
            continue;
        }
        if (handouts.size() > 1) {
            metrics_->handed_shared.Increment(static_cast<double>(handouts.size()));
        }
        lock.unlock();
        for (schedule::handout& handout : handouts) {
            metrics_->wait_seconds.Observe(std::chrono::duration<double>(handout.waited).count());
            handout.waiter(std::move(handout.key));
        }
        lock.lock();
    }
}

}  // namespace mgw::rsocket
