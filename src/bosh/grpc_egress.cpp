// One BoshMetrics call: read the EgressRequest, check the token as the original did (but with
// UNAUTHENTICATED for a missing token and UNAVAILABLE when UAA cannot be asked), join the
// subscription group, then move events from the group to the stream while it has room, give
// back what the stream could not write, and end before the client's deadline.
#include <algorithm>
#include <google/protobuf/stubs/logging.h>
#include <mgw_proto_bosh/server.pb.h>
#include <span>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include <mgw/bosh/grpc_egress.hpp>

namespace mgw::bosh {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using clock = std::chrono::steady_clock;
using wake_channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view method_path = "/definitions.Egress/BoshMetrics";
// After the memory budget refused a stream's bytes, try again this much later.
constexpr auto memory_backoff = std::chrono::milliseconds(100);

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && s.front() == ' ') {
        s.remove_prefix(1);
    }
    while (!s.empty() && s.back() == ' ') {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

struct grpc_egress::impl : std::enable_shared_from_this<impl> {
    impl(asio::io_context& io, grpc_egress_options o, subscription_distributor& d,
         token_validator& v, core::memory_budget& budget, core::logger& l, prometheus::Registry& r)
        : options(std::move(o)),
          distributor(d),
          validator(v),
          log(l),
          server(
              io,
              [&] {
                  options.server.name = "bosh";
                  return options.server;
              }(),
              budget, l, r),
          auth_family(prometheus::BuildCounter()
                          .Name("mgw_bosh_grpc_auth_total")
                          .Help("BoshMetrics token checks, by the status the call got.")
                          .Register(r)),
          auth_ok(auth_family.Add({{"code", "OK"}})),
          auth_missing(auth_family.Add({{"code", "UNAUTHENTICATED"}})),
          auth_denied(auth_family.Add({{"code", "PERMISSION_DENIED"}})),
          auth_unavailable(auth_family.Add({{"code", "UNAVAILABLE"}})),
          streams(prometheus::BuildGauge()
                      .Name("mgw_bosh_grpc_streams")
                      .Help("BoshMetrics streams subscribed to a group now.")
                      .Register(r)
                      .Add({})),
          events_family(prometheus::BuildCounter()
                            .Name("mgw_bosh_grpc_events_total")
                            .Help("Events on BoshMetrics streams: queued to a stream, given back "
                                  "to their subscription after a write that did not complete "
                                  "(mgw_bosh_subscription_dropped_total counts those it had no "
                                  "room for), or skipped because the original would not have "
                                  "mapped them.")
                            .Register(r)),
          sent(events_family.Add({{"outcome", "sent"}})),
          returned(events_family.Add({{"outcome", "returned"}})),
          unmappable(events_family.Add({{"outcome", "unmappable"}})) {}

    grpc_egress_options options;
    subscription_distributor& distributor;
    token_validator& validator;
    core::logger& log;
    grpc::server server;
    prometheus::Family<prometheus::Counter>& auth_family;
    prometheus::Counter& auth_ok;
    prometheus::Counter& auth_missing;
    prometheus::Counter& auth_denied;
    prometheus::Counter& auth_unavailable;
    prometheus::Gauge& streams;
    prometheus::Family<prometheus::Counter>& events_family;
    prometheus::Counter& sent;
    prometheus::Counter& returned;
    prometheus::Counter& unmappable;

    // A stream's place in its subscription group. The handler holds it, and so does the call's
    // undelivered-message sink, which the server keeps until the write that carried the
    // stream's last bytes completed, after the handler ended: what the stream could not
    // deliver is given back while the consumer is still attached (the distributor takes back
    // only from a member), and the consumer leaves the group only then, handing it to the
    // other members or to the next stream of the group (the forwarder's next rotation).
    struct membership {
        std::shared_ptr<impl> egress;
        subscription_distributor::consumer_id consumer;

        membership(std::shared_ptr<impl> e, subscription_distributor::consumer_id c)
            : egress(std::move(e)), consumer(c) {}
        ~membership() { egress->distributor.detach(consumer, clock::now()); }
        membership(const membership&) = delete;
        membership& operator=(const membership&) = delete;

        void give_back(std::span<const event_ptr> events) {
            if (events.empty()) {
                return;
            }
            egress->distributor.give_back(consumer, events);
            egress->returned.Increment(static_cast<double>(events.size()));
        }
    };

    // Stop taking events this long before the deadline, so that the stream ends before the
    // client cancels it.
    std::chrono::milliseconds margin(clock::duration timeout) const {
        const auto twentieth = std::chrono::duration_cast<std::chrono::milliseconds>(timeout / 20);
        return std::clamp(twentieth, std::chrono::milliseconds(200), options.max_deadline_margin);
    }

    asio::awaitable<bool> authorize(grpc::server_call& call) {
        const auto authorization = call.request_metadata().find("authorization");
        if (!authorization || trimmed(*authorization).empty()) {
            auth_missing.Increment();
            // The original answered UNKNOWN (2) with this message; UNAUTHENTICATED is the code
            // that says what happened (docs/MIGRATING.md).
            call.finish(grpc::status_code::unauthenticated,
                        "Request does not include authorization token");
            co_return false;
        }
        const auth_decision decision = co_await validator.validate(*authorization);
        switch (decision.status) {
            case auth_status::ok:
                auth_ok.Increment();
                co_return true;
            case auth_status::unavailable:
                // Not PERMISSION_DENIED: the forwarder would fetch a new token from the same
                // unreachable UAA and exit; with UNAVAILABLE it retries a second later.
                auth_unavailable.Increment();
                call.finish(grpc::status_code::unavailable,
                            "Authorization token cannot be checked now: " + decision.message);
                co_return false;
            case auth_status::unauthenticated:
            case auth_status::forbidden:
                // The forwarder refreshes its token on exactly this code.
                auth_denied.Increment();
                call.finish(grpc::status_code::permission_denied,
                            "Authorization token is invalid. It must include the "
                            "bosh.system_metrics.read authority and not be expired: " +
                                decision.message);
                co_return false;
        }
        co_return false;
    }

    asio::awaitable<void> serve(std::shared_ptr<grpc::server_call> call) {
        auto self = shared_from_this();
        auto executor = co_await asio::this_coro::executor;
        auto wake = std::make_shared<wake_channel>(executor, 1);
        call->on_change([wake] { wake->try_send(boost::system::error_code{}); });
        asio::steady_timer timer(executor);

        timer.expires_after(options.request_timeout);
        auto first = co_await (call->read() || timer.async_wait(use_tuple));
        if (call->done()) {
            co_return;
        }
        if (first.index() == 1) {
            call->finish(grpc::status_code::invalid_argument,
                         "no EgressRequest within the request timeout");
            co_return;
        }
        const std::optional<std::string>& request = std::get<0>(first);
        if (!request) {
            call->finish(grpc::status_code::invalid_argument, "the call carries no EgressRequest");
            co_return;
        }
        definitions::EgressRequest egress_request;
        if (!egress_request.ParseFromString(*request)) {
            call->finish(grpc::status_code::internal, "grpc: error unmarshalling request");
            co_return;
        }
        if (!co_await authorize(*call) || call->done()) {
            co_return;
        }
        const auto attached = distributor.attach(
            egress_request.subscription_id(),
            [wake] { wake->try_send(boost::system::error_code{}); }, clock::now());
        if (!attached.consumer) {
            switch (attached.error) {
                case attach_error::invalid_id:
                    call->finish(grpc::status_code::invalid_argument,
                                 "subscription_id: at most 256 printable characters");
                    break;
                case attach_error::too_many_subscriptions:
                    call->finish(grpc::status_code::resource_exhausted,
                                 "too many subscriptions: try again once one expired");
                    break;
                case attach_error::too_many_consumers:
                    call->finish(grpc::status_code::resource_exhausted,
                                 "too many streams share this subscription_id");
                    break;
                case attach_error::closed:
                    call->finish(grpc::status_code::unavailable, "the server is shutting down");
                    break;
            }
            co_return;
        }
        const auto member = std::make_shared<membership>(self, *attached.consumer);
        const auto consumer = member->consumer;
        streams.Increment();
        struct stream_gauge {
            prometheus::Gauge& g;
            ~stream_gauge() { g.Decrement(); }
        } counted{streams};
        call->on_undelivered([member](std::vector<grpc::outgoing_message> messages) {
            std::vector<event_ptr> events;
            events.reserve(messages.size());
            for (grpc::outgoing_message& m : messages) {
                events.push_back(
                    std::static_pointer_cast<const distributed_event>(std::move(m.owner)));
            }
            member->give_back(events);
        });
        // Headers now: the subscriber knows it is subscribed before the first event.
        call->start_response();

        std::optional<clock::time_point> stop_at;
        if (const auto deadline = call->deadline()) {
            stop_at = *deadline - margin(*deadline - clock::now());
        }
        // Events taken from the group and not yet queued on the stream: batch[next...]. Kept
        // here while the stream has no room (a refused send), given back if the stream ends.
        std::vector<event_ptr> batch;
        std::size_t next = 0;
        const auto give_back_held = [&] {
            member->give_back(std::span(batch).subspan(next));
            batch.clear();
            next = 0;
        };
        bool ending = false;
        std::optional<clock::time_point> retry_at;
        while (!call->done()) {
            const auto now = clock::now();
            if (!ending && stop_at && now >= *stop_at) {
                // What was queued is written first, then DEADLINE_EXCEEDED (the code the
                // forwarder treats as a normal rotation); what was not goes back to the group.
                give_back_held();
                call->finish(grpc::status_code::deadline_exceeded, "deadline exceeded");
                ending = true;
            }
            if (retry_at && now >= *retry_at) {
                retry_at.reset();
            }
            if (!ending && !retry_at) {
                bool popped_some = false;
                if (next == batch.size()) {
                    batch.clear();
                    next = 0;
                    // No more than the stream can queue (one event even when larger).
                    const std::size_t room = call->send_room();
                    if (room > 0) {
                        const auto popped =
                            distributor.pop(consumer, batch, options.max_events_per_pop, room,
                                            event_encoding::grpc);
                        if (popped.count == 0 && popped.closed) {
                            // Drain: everything queued for this stream was taken; end cleanly.
                            call->finish(grpc::status_code::ok, "");
                            ending = true;
                            continue;
                        }
                        popped_some = popped.count > 0;
                    }
                }
                grpc::send_result result = grpc::send_result::queued;
                while (next < batch.size()) {
                    const event_ptr& e = batch[next];
                    if (e->grpc.empty()) {
                        unmappable.Increment();
                        ++next;
                        continue;
                    }
                    result = call->send(grpc::outgoing_message{e, e->grpc});
                    if (result != grpc::send_result::queued) {
                        break;
                    }
                    sent.Increment();
                    ++next;
                }
                if (next < batch.size()) {
                    // `full`: held until the stream is writable (a change wakes us). `memory`:
                    // nothing of this stream may be in flight to free any, so try again later.
                    if (result == grpc::send_result::memory) {
                        retry_at = now + memory_backoff;
                    }
                } else if (popped_some) {
                    continue;  // the group may have more, and the stream room for it
                }
            }
            clock::time_point wake_at = clock::time_point::max();
            if (!ending && stop_at) {
                wake_at = *stop_at;
            }
            if (retry_at) {
                wake_at = std::min(wake_at, *retry_at);
            }
            timer.expires_at(wake_at);
            co_await (wake->async_receive(use_tuple) || timer.async_wait(use_tuple));
        }
        // The client went away (or the deadline passed) with events still held here.
        give_back_held();
    }
};

grpc_egress::grpc_egress(asio::io_context& io, grpc_egress_options options,
                         subscription_distributor& distributor, token_validator& validator,
                         core::memory_budget& budget, core::logger& log,
                         prometheus::Registry& registry)
    : impl_(std::make_shared<impl>(io, std::move(options), distributor, validator, budget, log,
                                   registry)) {
    // libprotobuf writes a line to stderr for every request it cannot parse (a subscription id
    // that is not UTF-8, say): a client could flood the log past core::logger's throttling.
    // The call is answered with its status and counted instead. Set once, at start-up, before
    // any thread parses.
    google::protobuf::SetLogHandler(nullptr);
    std::weak_ptr<impl> weak = impl_;
    impl_->server.add_method(
        std::string(method_path),
        [weak](std::shared_ptr<grpc::server_call> call) -> asio::awaitable<void> {
            if (auto self = weak.lock()) {
                co_await self->serve(std::move(call));
            }
        });
}

grpc_egress::~grpc_egress() {
    impl_->server.stop();
}

void grpc_egress::start() {
    impl_->server.start();
}

std::uint16_t grpc_egress::port() const {
    return impl_->server.local_port();
}

asio::awaitable<bool> grpc_egress::drain(clock::time_point deadline) {
    auto self = impl_;
    co_return co_await self->server.drain(deadline);
}

}  // namespace mgw::bosh
